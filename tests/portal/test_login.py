"""Staff sign in through django-allauth; TOTP applies to the admin too."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.conftest import PASSWORD, totp_code


def sign_in(client, username):
    return client.post(reverse("account_login"), {"login": username, "password": PASSWORD})


def enrol_totp(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def test_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_password_login_without_mfa_reaches_the_admin(client, role_users):
    response = sign_in(client, "staffer")
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_wrong_password_is_refused(client, role_users):
    response = client.post(reverse("account_login"), {"login": "staffer", "password": "nope"})
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


def test_login_with_totp_asks_for_a_code(client, role_users):
    secret = enrol_totp(role_users["staff"])
    response = sign_in(client, "staffer")
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    # Not signed in until the code is given.
    assert client.get(reverse("admin:index")).status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content

    right = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert right.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("require", [True, False])
def test_superusers_must_enrol_mfa_outside_debug(client, settings, role_users, require):
    settings.PORTAL_REQUIRE_MFA = require
    client.force_login(role_users["superuser"])
    response = client.get(reverse("admin:index"))
    if require:
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
        enrol_totp(role_users["superuser"])
        assert client.get(reverse("admin:index")).status_code == 200
    else:
        assert response.status_code == 200


def test_without_the_requirement_nobody_is_forced_to_enrol(client, settings, role_users):
    settings.PORTAL_REQUIRE_MFA = False
    client.force_login(role_users["auditor"])
    assert client.get(reverse("admin:index")).status_code == 200


def test_self_signup_is_closed(client, db):
    response = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in response.content or response.status_code in (403, 404)


def test_non_staff_users_cannot_open_the_admin(client, role_users):
    user = role_users["staff"]
    user.is_staff = False
    user.save()
    sign_in(client, "staffer")
    assert client.get(reverse("admin:index")).status_code in (302, 403)
