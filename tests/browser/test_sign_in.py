import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.conftest import PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_with_totp_and_sees_only_their_locations(page, steps, role_users):
    secret = generate_totp_secret()
    TOTP.activate(role_users["staff"], secret)

    page.goto("/admin/")
    assert "/accounts/login/" in page.url
    steps.shot(page, "login page")
    page.fill("input[name=login]", "staffer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/2fa/authenticate/**")
    steps.shot(page, "asks for the code")
    page.fill("input[name=code]", totp_code(secret))
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    steps.shot(page, "admin home")

    page.goto("/admin/portal/location/")
    text = page.inner_text("#result_list")
    steps.shot(page, "locations")
    assert "Location A" in text and "Location B" in text and "Location C" not in text
