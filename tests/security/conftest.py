"""The integrations' fixtures (an app, a connection of location loc-1, `responses`)."""

from tests.integrations.conftest import (  # noqa: F401  (fixtures)
    api_base,
    connection,
    ghl_app,
    mocked,
    sleeps,
    token_url,
)
from tests.integrations.events.conftest import (  # noqa: F401  (fixtures)
    events_connection,
    templates,
)
