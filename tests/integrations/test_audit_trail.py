"""The audit trail records who connected, disconnected, changed a mapping, re-ran a job."""

import pytest
import responses

from integrations.models import Connection, Job
from integrations.sync.connections import connection_disconnect
from integrations.sync.jobs import job_rerun
from integrations.sync.onboarding import location_mint
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.services import mapping_template_apply
from portal.models import AuditEvent
from tests.integrations.conftest import connection_make

pytestmark = pytest.mark.django_db


def test_minting_a_location_connection_records_who_connected_it(
    ghl_app, agency, mocked, api_base, role_users
):
    agency_conn = Connection(
        app=ghl_app, agency=agency, kind=Connection.Kind.AGENCY, scopes="oauth.write"
    )
    agency_conn.access_token = "agency-access-token-123"
    agency_conn.save()
    mocked.add(
        responses.POST,
        f"{api_base}/oauth/locationToken",
        json={"access_token": "minted-token-456", "expires_in": 86399, "locationId": "hl-new"},
    )
    connection = location_mint(
        agency_connection=agency_conn, hl_location_id="hl-new", name="New", user=role_users["staff"]
    )
    event = AuditEvent.objects.get(action="connection.connect")
    assert (event.actor, event.location, event.detail) == (
        role_users["staff"],
        connection.location,
        {"minted_by": agency_conn.pk},
    )


def test_disconnect_rerun_and_mapping_change_are_recorded(ghl_app, location, role_users):
    connection = connection_make(app=ghl_app, location=location)
    connection_disconnect(connection_id=connection.pk, actor=role_users["superuser"])
    job = Job.objects.create(kind="poll", status="failed", location=location, idempotency_key="k")
    job_rerun(job_ids=[job.pk], user_id=role_users["support"].pk)
    mapping_template_apply(
        template_key=next(iter(FLOW_TEMPLATES)),
        location_id=location.pk,
        user_id=role_users["staff"].pk,
    )
    recorded = {(e.action, e.actor.username) for e in AuditEvent.objects.select_related("actor")}
    assert {
        ("connection.disconnect", "root"),
        ("job.rerun", "supporter"),
        ("mapping.changed", "staffer"),
    } <= recorded
