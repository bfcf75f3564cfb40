"""With two-factor required, every role's first sign-in lands on TOTP enrolment; enrolling shows
the recovery codes, then the control panel opens; the next sign-in asks for a code."""

import pytest

from tests.browser.conftest import WIDTH
from tests.conftest import PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_each_role_is_sent_to_totp_enrolment_first(
    browser, live_server, steps, role_users, settings
):
    settings.PORTAL_REQUIRE_MFA = True
    for role in ["superuser", "staff", "auditor", "support"]:
        user = role_users[role]
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": WIDTH, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/admin/")
        page.fill("input[name=login]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/2fa/totp/activate/**")
        assert "Set up two-factor authentication to continue." in page.content()
        steps.shot(page, f"{role} is sent to enrolment")
        # Trying to go elsewhere leads back to enrolment.
        page.goto("/admin/portal/location/")
        assert "/2fa/totp/activate/" in page.url

        key = page.input_value("#authenticator_secret")  # what the QR code holds
        page.fill("input[name=code]", totp_code(key))
        page.click("button[type=submit]")
        page.wait_for_url("**/2fa/recovery-codes/**")
        steps.shot(page, f"{role} sees recovery codes")
        page.goto("/admin/")
        assert page.url.endswith("/admin/")
        steps.shot(page, f"{role} reaches the control panel")

        page.goto("/accounts/logout/")
        page.click("button[type=submit]")
        page.goto("/admin/")
        page.fill("input[name=login]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/2fa/authenticate/**")
        steps.shot(page, f"{role} is asked for a code next time")
        context.close()
