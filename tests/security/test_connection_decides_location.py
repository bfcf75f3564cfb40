"""The connection decides the location: a run, a subscription or a mapping cannot aim it elsewhere."""

import pytest
from django.urls import reverse

from integrations.catalog.calls import OperationInvalid, call_prepare
from integrations.catalog.connections import ConnectionInfo
from integrations.catalog.registry import AGENCY, LOCATION, operation_get
from integrations.models import Job, Subscription
from integrations.sync.jobs import job_run
from integrations.sync.rankr_events import rankr_lead_create
from integrations.sync.subscriptions.manage import subscription_check
from mappings.models import MappingVersion
from mappings.services import mapping_template_apply

LOCATION_CONNECTION = ConnectionInfo(
    id=7,
    label="Acme Dental",
    access=LOCATION,
    location_id="LOC123",
    company_id="CO9",
    granted_scopes=(
        "contacts.readonly",
        "contacts.write",
        "users.write",
        "payments/transactions.readonly",
    ),
)
AGENCY_CONNECTION = ConnectionInfo(id=8, label="Acme Agency", access=AGENCY, company_id="CO9")


def refused(operation_key, connection=LOCATION_CONNECTION, **call):
    with pytest.raises(OperationInvalid) as caught:
        call_prepare(operation=operation_get(operation_key), connection=connection, **call)
    return caught.value.errors


@pytest.mark.parametrize(
    "operation_key, call, field",
    [
        ("GET /contacts/", {"params": {"locationId": "LOC-OTHER"}}, "locationId"),
        (
            "POST /contacts/",
            {"body": {"firstName": "Ada", "locationId": "LOC-OTHER"}},
            "body.locationId",
        ),
        (
            "POST /contacts/search",
            {"body": {"locationId": "LOC-OTHER", "pageLimit": 5}},
            "body.locationId",
        ),
        (
            "GET /payments/transactions",
            {"params": {"altId": "LOC-OTHER", "altType": "location"}},
            "altId",
        ),
        (
            "POST /users/",
            {
                "body": {
                    "companyId": "CO-OTHER",
                    "firstName": "A",
                    "lastName": "B",
                    "email": "a@b.c",
                    "password": "x",
                    "type": "account",
                    "role": "user",
                    "locationIds": ["LOC123"],
                }
            },
            "body.companyId",
        ),
        (
            "POST /users/",
            {
                "body": {
                    "companyId": "CO9",
                    "firstName": "A",
                    "lastName": "B",
                    "email": "a@b.c",
                    "password": "x",
                    "type": "account",
                    "role": "user",
                    "locationIds": ["LOC123", "LOC-OTHER"],
                }
            },
            "body.locationIds",
        ),
    ],
)
def test_another_locations_id_is_refused_with_a_clear_error(operation_key, call, field):
    errors = refused(operation_key, **call)
    assert field in errors
    assert "acts for" in errors[field][0] and (
        "LOC123" in errors[field][0] or "CO9" in errors[field][0]
    )


def test_the_connections_own_values_are_accepted_and_filled_in():
    call = call_prepare(
        operation=operation_get("GET /contacts/"),
        connection=LOCATION_CONNECTION,
        params={"locationId": "LOC123"},
    )
    assert call.query["locationId"] == "LOC123"
    call = call_prepare(
        operation=operation_get("POST /contacts/"),
        connection=LOCATION_CONNECTION,
        body={"firstName": "Ada"},
    )
    assert call.json["locationId"] == "LOC123"


def test_an_agency_connection_keeps_its_company():
    errors = refused(
        "GET /users/search", connection=AGENCY_CONNECTION, params={"companyId": "CO-OTHER"}
    )
    assert "acts for 'CO9'" in errors["companyId"][0]


def test_altid_that_is_not_a_location_is_neither_filled_nor_refused():
    """Conversations' altId is the mail provider's message id (no altType beside it)."""
    operation = operation_get("POST /conversations/messages/inbound")
    body = {
        "type": "Email",
        "conversationId": "conv1",
        "conversationProviderId": "p1",
        "contactId": "c1",
        "altId": "provider-msg-42",
        "message": "hi",
    }
    info = ConnectionInfo(
        id=7,
        label="x",
        access=LOCATION,
        location_id="LOC123",
        company_id="CO9",
        granted_scopes=("conversations/message.write",),
    )
    call = call_prepare(operation=operation, connection=info, body=body)
    assert call.json["altId"] == "provider-msg-42"


@pytest.mark.django_db
def test_the_run_page_refuses_another_location(client, role_users, locations):
    from integrations.models import Connection, HighLevelApp

    app = HighLevelApp(
        name="R",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="c1",
        redirect_url="http://testserver/cb/",
        scopes="contacts.readonly",
    )
    app.client_secret = "s"
    app.save()
    connection = Connection(
        app=app,
        agency=locations["A"].agency,
        location=locations["A"],
        kind=Connection.Kind.LOCATION,
        scopes="contacts.readonly",
    )
    connection.access_token = "at-1"
    connection.save()
    client.force_login(role_users["superuser"])
    response = client.post(
        reverse("catalog:run") + "?op=GET%20/contacts/",
        {
            "connection": str(connection.pk),
            "p_locationId": "loc-B",
        },
    )
    html = response.content.decode()
    assert "acts for &#x27;loc-A&#x27; only" in html
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_subscription_parameters_cannot_name_another_location(connection, location):
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    connection.scopes = "contacts.readonly"
    connection.save(update_fields=["scopes"])
    subscription = Subscription(
        location=location,
        connection=connection,
        trigger="Search Contacts",
        mapping=mapping,
        parameters={"locationId": "loc-other"},
    )
    errors = subscription_check(subscription=subscription)
    assert any("acts for 'loc-1' only" in message for message in errors["parameters"])


@pytest.mark.django_db
def test_a_mapping_output_cannot_send_a_lead_to_another_location(
    connection, location, mocked, api_base
):
    mapping, _ = mapping_template_apply(
        template_key="rankr_lead_create", location_id=location.pk, user_id=None
    )
    # A version the rule check would refuse today (one saved before it existed, or written
    # straight to the table): the send itself still keeps the connection's location.
    latest = mapping.versions.order_by("-number").first()
    MappingVersion.objects.create(
        mapping=mapping,
        number=latest.number + 1,
        entity=latest.entity,
        direction=latest.direction,
        null_policy=latest.null_policy,
        rules=latest.rules
        + [{"source": None, "target": "locationId", "null": "default", "default": "loc-other"}],
    )
    rankr_lead_create(
        location_id=location.pk, values={"email": "ada@example.com", "first_name": "Ada"}
    )
    job = Job.objects.get(kind="rankr_event")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "acts for 'loc-1' only" in job.error_message
    assert len(mocked.calls) == 0
