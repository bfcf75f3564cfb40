"""Browser tests: Playwright drives Debian's Chromium (never a downloaded browser).

Screenshots of each step land in test-artifacts/browser/<test name>/ for people to look at.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, _roles_present, totp_code

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls our fixtures make
    # here are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Steps:
    """Takes a numbered screenshot per step of a story."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def shot(self, page, name):
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        page.screenshot(path=self.folder / f"{self.count:02d}-{slug}.png", full_page=True)


@pytest.fixture
def steps(request):
    return Steps(ARTIFACTS / request.node.name)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _role_groups(transactional_db):
    """Browser tests are transactional: each one ends by flushing the database, which takes the
    role groups the data migrations made with it. Put them back (from portal.roles) first."""
    _roles_present()


WIDTH = 1366


@pytest.fixture
def wide(browser, live_server):
    """``wide(username)``: a new browser context 1366 px wide, signed in as that user (giving
    the current code of ``totp_secret`` when the sign-in asks for one)."""
    contexts = []

    def open_as(username, password=None, totp_secret=None):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": WIDTH, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/accounts/login/")
        page.fill("input[name=login]", username)
        page.fill("input[name=password]", password or PASSWORD)
        page.click("button[type=submit]")
        if totp_secret:
            page.wait_for_url("**/2fa/authenticate/**")
            page.fill("input[name=code]", totp_code(totp_secret))
            page.click("button[type=submit]")
        page.wait_for_url("**/admin/")
        return page

    yield open_as
    for context in contexts:
        context.close()
