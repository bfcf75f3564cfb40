import pytest

from sandbox.access.services.registry import sandbox_app_register, sandbox_demo_company_ensure
from tests.sandbox.access.helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT, SCOPES


@pytest.fixture
def company(db):
    return sandbox_demo_company_ensure()


@pytest.fixture
def registered(company):
    return sandbox_app_register(
        name="Rankr",
        redirect_uris=[REDIRECT],
        scopes=SCOPES,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
