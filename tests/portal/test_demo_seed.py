import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from portal.models import Location
from portal.scoping import locations_for_user
from portal.services import DEMO_LOGINS, demo_seed_create


@pytest.mark.django_db
def test_demo_seed_creates_one_login_per_role_and_prints_them(capsys):
    call_command("demo_seed")
    out = capsys.readouterr().out
    User = get_user_model()
    for login in DEMO_LOGINS:
        assert User.objects.get(username=login.username).check_password(login.password)
        assert f"{login.username} / {login.password}" in out
    assert Location.objects.count() == 3
    staff = User.objects.get(username="staff")
    assert locations_for_user(staff).count() == 2
    assert User.objects.get(username="auditor").groups.get().name == "Auditor"


@pytest.mark.django_db
def test_demo_seed_leaves_an_existing_database_alone(django_user_model):
    django_user_model.objects.create_user("someone", password="x")
    assert demo_seed_create() == []
    assert not django_user_model.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_demo_seed_never_runs_in_production(settings):
    settings.PORTAL_ENV = "production"
    with pytest.raises(CommandError, match="never created in production"):
        call_command("demo_seed")
    assert not get_user_model().objects.exists()
