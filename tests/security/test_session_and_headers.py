"""Sessions of 12 hours, a Content-Security-Policy, HSTS preload only when asked, passwords of at
least 12 characters, and no password-reset e-mail to an address no account has."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.security.envprobe import REAL_KEYS, settings_of


def test_a_sign_in_lasts_twelve_hours():
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy(client):
    policy = client.get(reverse("account_login"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy


def test_hsts_preload_only_when_asked(tmp_path):
    production = {"DEBUG": "false", "ALLOWED_HOSTS": "portal.example.com", **REAL_KEYS}
    names = ["SECURE_HSTS_PRELOAD", "SECURE_HSTS_SECONDS"]
    assert (
        settings_of(names, env_extra=production, tmp_path=tmp_path)["SECURE_HSTS_PRELOAD"] is False
    )
    asked = settings_of(
        names, env_extra={**production, "SECURE_HSTS_PRELOAD": "true"}, tmp_path=tmp_path
    )
    assert asked["SECURE_HSTS_PRELOAD"] is True


def test_passwords_need_twelve_characters():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Xq7!mZp2#Lw")  # 11
    validate_password("Xq7!mZp2#Lw9")  # 12


@pytest.mark.django_db
def test_no_reset_email_goes_to_an_unknown_address(client, django_user_model):
    url = reverse("account_reset_password")
    client.post(url, {"email": "nobody@example.test"})
    assert mail.outbox == []
    django_user_model.objects.create_user(
        "ada", "ada@example.test", "Xq7!mZp2#Lw9-long", is_staff=True
    )
    client.post(url, {"email": "ada@example.test"})
    assert [m.to for m in mail.outbox] == [["ada@example.test"]]
