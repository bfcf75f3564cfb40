"""Two-factor authentication for every role, everywhere in the portal: enrolment at the first
sign-in (then recovery codes), a code at every sign-in after it, TOTP secrets encrypted at rest and
never shown or editable in the admin."""

import io

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core.management import call_command
from django.urls import reverse

from portal.checks import check_production_safety
from portal.crypto import secret_decrypt
from tests.conftest import PASSWORD, enrol_totp, totp_code

ROLES = ["superuser", "staff", "auditor", "support"]


@pytest.fixture
def mfa_required(settings):
    settings.PORTAL_REQUIRE_MFA = True


def sign_in(client, user):
    return client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})


@pytest.mark.parametrize("role", ROLES)
def test_every_role_is_sent_to_totp_enrolment_before_any_page(
    client, role_users, mfa_required, role
):
    sign_in(client, role_users[role])
    for path in [reverse("admin:index"), "/admin/portal/location/", "/admin/catalog/operations/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp"), path


def test_enrolment_shows_recovery_codes_then_every_sign_in_asks_for_a_code(
    client, role_users, mfa_required
):
    auditor = role_users["auditor"]
    sign_in(client, auditor)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    enrolled = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert enrolled.status_code == 302 and enrolled.url == reverse("mfa_view_recovery_codes")
    codes = client.get(enrolled.url)
    assert codes.status_code == 200 and len(codes.context["unused_codes"]) == 10
    assert client.get(reverse("admin:index")).status_code == 200

    client.post(reverse("account_logout"))
    again = sign_in(client, auditor)
    assert again.status_code == 302 and again.url == reverse("mfa_authenticate")
    assert client.get(reverse("admin:index")).status_code == 302  # not signed in yet
    # A recovery code works in place of the TOTP code.
    done = client.post(reverse("mfa_authenticate"), {"code": codes.context["unused_codes"][0]})
    assert done.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("required", [True, False])
def test_totp_cannot_be_switched_off_while_required(client, role_users, settings, required):
    settings.PORTAL_REQUIRE_MFA = required
    staff = role_users["staff"]
    secret = enrol_totp(staff)
    sign_in(client, staff)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.post(reverse("mfa_deactivate_totp"), {"code": totp_code(secret)})
    still = Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert still is required


def test_totp_secrets_and_recovery_seeds_are_encrypted_at_rest(role_users):
    staff = role_users["staff"]
    secret = enrol_totp(staff)
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert secret not in str(totp.data)
    assert secret_decrypt(ciphertext=totp.data["secret"]) == secret
    seed = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).data
    assert len(secret_decrypt(ciphertext=seed["seed"])) == 80  # 40 random bytes, hex


def test_key_rotation_re_encrypts_totp_secrets(role_users, settings):
    from cryptography.fernet import Fernet

    secret = enrol_totp(role_users["staff"])
    old = Authenticator.objects.get(user=role_users["staff"], type="totp").data["secret"]
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    new = Authenticator.objects.get(user=role_users["staff"], type="totp").data["secret"]
    assert new != old
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]  # the new key alone opens it
    assert secret_decrypt(ciphertext=new) == secret


def test_the_admin_never_shows_nor_edits_a_totp_secret(client, role_users):
    secret = enrol_totp(role_users["staff"])
    stored = Authenticator.objects.get(user=role_users["staff"], type="totp")
    client.force_login(role_users["superuser"])
    url = reverse("admin:mfa_authenticator_change", args=[stored.pk])
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert secret not in body and stored.data["secret"] not in body and "secret" not in body
    listing = client.get(reverse("admin:mfa_authenticator_changelist")).content.decode()
    assert secret not in listing and stored.data["secret"] not in listing
    client.post(url, {"user": role_users["superuser"].pk, "type": "totp", "data": "{}"})
    stored.refresh_from_db()
    assert secret_decrypt(ciphertext=stored.data["secret"]) == secret
    assert stored.user == role_users["staff"]


def test_a_public_portal_without_required_mfa_is_warned_about(settings):
    settings.PORTAL_REQUIRE_MFA = False
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    ids = {message.id for message in check_production_safety(None)}
    assert "portal.W010" in ids


def test_secrets_stored_before_encryption_are_encrypted_by_the_migration(role_users):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("portal.migrations.0004_encrypt_mfa_secrets")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    plain = Authenticator.objects.create(
        user=role_users["staff"], type=Authenticator.Type.TOTP, data={"secret": secret}
    )
    migration.encrypt_mfa_secrets(apps, None)
    migration.encrypt_mfa_secrets(apps, None)  # twice: an encrypted value is left alone
    plain.refresh_from_db()
    assert secret_decrypt(ciphertext=plain.data["secret"]) == secret
