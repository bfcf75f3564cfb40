import pytest

from mappings.services import mapping_template_apply
from tests.integrations.conftest import connection_make

SCOPES = (
    "contacts.readonly contacts.write users.readonly users.write calendars/events.readonly "
    "opportunities.readonly"
)


@pytest.fixture
def events_connection(ghl_app, location):
    connection = connection_make(app=ghl_app, location=location)
    connection.scopes = SCOPES
    connection.save(update_fields=["scopes"])
    return connection


@pytest.fixture
def templates(location):
    """The flow templates the events use, applied to the location."""
    keys = [
        "ghl_contact_upsert",
        "ghl_task_sync",
        "ghl_contact_notes",
        "ghl_contact_appointments",
        "rankr_user_create",
        "rankr_user_delete",
        "rankr_lead_create",
    ]
    return {
        key: mapping_template_apply(template_key=key, location_id=location.pk, user_id=None)[0]
        for key in keys
    }


from tests.integrations.events.sandbox_world import events_sandbox  # noqa: E402,F401  (fixture)
