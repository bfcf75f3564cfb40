from tests.integrations.events.conftest import events_connection, templates  # noqa: F401
from tests.integrations.events.sandbox_world import events_sandbox  # noqa: F401
