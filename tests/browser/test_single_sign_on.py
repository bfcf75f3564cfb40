"""Staff signs in through their agency's OpenID Connect provider (a real test provider over
HTTP), with no password, and lands in the control panel."""

import pytest

from portal.models import AgencySingleSignOn
from tests.browser.conftest import WIDTH
from tests.oidc_provider import OidcProvider

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_through_the_agency_provider_without_a_password(
    browser, live_server, steps, agency, role_users, settings
):
    settings.PORTAL_REQUIRE_MFA = True
    with OidcProvider() as idp:
        config = AgencySingleSignOn(
            agency=agency,
            slug="acme",
            issuer=idp.issuer,
            client_id=idp.client_id,
            mfa_by_provider=True,
            password_sign_in=False,
        )
        config.client_secret = idp.client_secret
        config.save()

        context = browser.new_context(
            base_url=live_server.url, viewport={"width": WIDTH, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/admin/")
        steps.shot(page, "sign-in page offers the agency's provider")
        page.click("text=Sign in with Acme Agency")
        page.wait_for_url(f"{idp.issuer}/authorize**")
        steps.shot(page, "the provider's page")
        page.click("#approve")
        page.wait_for_url("**/admin/")
        steps.shot(page, "signed in, no password")
        page.goto("/admin/portal/location/")
        text = page.inner_text("#result_list")
        assert "Location A" in text and "Location C" not in text
        assert "staffer" in page.inner_text("#user-tools").lower()
        context.close()
