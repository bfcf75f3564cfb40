"""The integrations' fixtures (an app, a location of agency comp-1 and its connection, `responses`)."""

from tests.integrations.conftest import (  # noqa: F401  (fixtures)
    api_base,
    connection,
    ghl_app,
    location,
    mocked,
    sleeps,
)
