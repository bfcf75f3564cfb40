"""Single sign-on through an agency's OpenID Connect provider (a real one, tests/oidc_provider.py,
over HTTP): users matched by the provider's verified e-mail, only the agency's own people,
deactivated when the provider's active claim says so, two-factor left to the provider when the
agency says it asks, password sign-in off per agency, the client secret encrypted at rest."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.models import Agency, AgencySingleSignOn, AuditEvent, Location
from tests.conftest import PASSWORD, enrol_totp
from tests.oidc_provider import OidcProvider


@pytest.fixture
def idp():
    with OidcProvider() as provider:
        yield provider


@pytest.fixture
def sso(idp, agency, role_users):
    config = AgencySingleSignOn(
        agency=agency, slug="acme", issuer=idp.issuer, client_id=idp.client_id
    )
    config.client_secret = idp.client_secret
    config.save()
    return config


def sso_sign_in(client, slug, idp):
    """Press "Sign in with <agency>", approve at the provider, come back: the callback's answer."""
    start = client.post(f"/accounts/oidc/{slug}/login/")
    assert start.status_code == 302 and start.url.startswith(idp.issuer), start
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.url).query).items()}
    approved = requests.post(
        f"{idp.issuer}/authorize", data=params, allow_redirects=False, timeout=5
    )
    back = urlsplit(approved.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def signed_in_user(client):
    response = client.get(reverse("admin:index"))
    return response.wsgi_request.user if response.status_code == 200 else None


@pytest.mark.django_db
def test_staff_sign_in_through_the_agency_provider_without_a_password(
    client, idp, sso, role_users, settings
):
    settings.PORTAL_REQUIRE_MFA = True
    sso.mfa_by_provider = True
    sso.save()
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Acme Agency" in page

    done = sso_sign_in(client, "acme", idp)
    assert done.status_code == 302 and done.url == reverse("admin:index")
    assert signed_in_user(client) == role_users["staff"]
    assert idp.token_requests == 1


@pytest.mark.django_db
def test_without_mfa_by_the_provider_the_portal_asks_for_its_own(
    client, idp, sso, role_users, settings
):
    settings.PORTAL_REQUIRE_MFA = True
    sso_sign_in(client, "acme", idp)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_an_unverified_email_is_refused(client, idp, sso):
    idp.claims["email_verified"] = False
    response = sso_sign_in(client, "acme", idp)
    assert response.status_code == 302 and response.url == reverse("account_login")
    assert signed_in_user(client) is None
    message = client.get(reverse("account_login")).content.decode()
    assert "did not send a verified e-mail address" in message


@pytest.mark.django_db
def test_the_provider_deactivates_a_user_through_the_active_claim(client, idp, sso, role_users):
    sso.active_claim = "active"
    sso.save()
    idp.claims["active"] = True
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) == role_users["staff"]
    client.logout()

    idp.claims["active"] = False
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) is None
    staff = get_user_model().objects.get(pk=role_users["staff"].pk)
    assert staff.is_active is False
    assert AuditEvent.objects.filter(action="sso_deactivated", target__contains="staffer").exists()
    # A password no longer opens the account either.
    client.post(reverse("account_login"), {"login": "staffer", "password": PASSWORD})
    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_a_missing_active_claim_deactivates_too(client, idp, sso, role_users):
    sso.active_claim = "active"
    sso.save()
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) is None
    assert get_user_model().objects.get(pk=role_users["staff"].pk).is_active is False


@pytest.mark.django_db
def test_a_refusal_by_the_provider_signs_nobody_in(client, idp, sso):
    idp.refuse = True
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_another_agencys_provider_cannot_sign_in_this_agencys_people(client, idp, role_users):
    other = Agency.objects.create(name="Other Agency", company_id="comp-2")
    Location.objects.create(agency=other, location_id="loc-other", name="Elsewhere")
    config = AgencySingleSignOn(
        agency=other, slug="other", issuer=idp.issuer, client_id=idp.client_id
    )
    config.client_secret = idp.client_secret
    config.save()
    sso_sign_in(client, "other", idp)  # asserts staffer@example.test, of Acme
    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_a_superuser_never_signs_in_through_an_agency_provider(client, idp, sso, role_users):
    idp.claims["email"] = role_users["superuser"].email
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) is None


@pytest.mark.django_db
def test_password_sign_in_can_be_turned_off_per_agency(client, idp, sso, role_users):
    sso.password_sign_in = False
    sso.save()
    refused = client.post(reverse("account_login"), {"login": "staffer", "password": PASSWORD})
    assert refused.status_code == 302 and signed_in_user(client) is None
    # The auditor belongs to no agency's locations: their password still works.
    client.post(reverse("account_login"), {"login": "auditor", "password": PASSWORD})
    assert signed_in_user(client) == role_users["auditor"]
    client.logout()
    sso_sign_in(client, "acme", idp)
    assert signed_in_user(client) == role_users["staff"]


@pytest.mark.django_db
def test_the_client_secret_is_encrypted_and_never_shown(client, idp, sso, role_users):
    stored = AgencySingleSignOn.objects.get(pk=sso.pk)
    assert idp.client_secret not in stored.client_secret_encrypted
    assert stored.client_secret == idp.client_secret
    client.force_login(role_users["superuser"])
    page = client.get(reverse("admin:portal_agencysinglesignon_change", args=[sso.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert idp.client_secret not in body and stored.client_secret_encrypted not in body
    assert "/accounts/oidc/acme/login/callback/" in body


@pytest.mark.django_db
@pytest.mark.parametrize("by_provider", [True, False])
def test_an_enrolled_user_gives_a_code_unless_the_provider_asked_for_one(
    client, idp, sso, role_users, settings, by_provider
):
    settings.PORTAL_REQUIRE_MFA = True
    sso.mfa_by_provider = by_provider
    sso.save()
    enrol_totp(role_users["staff"])
    done = sso_sign_in(client, "acme", idp)
    if by_provider:
        assert done.url == reverse("admin:index")
        assert signed_in_user(client) == role_users["staff"]
    else:
        assert done.url == reverse("mfa_authenticate")
        assert signed_in_user(client) is None
