import pytest

from integrations.models import Connection, HighLevelApp, Subscription
from integrations.sync.flows import FLOW_TRIGGERS, flow_apply
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping


@pytest.fixture
def connected(locations):
    app = HighLevelApp(name="Rankr", client_id="cid", redirect_url="http://testserver/cb/")
    app.client_secret = "secret-value"
    app.save()
    connection = Connection(
        app=app,
        agency=locations["A"].agency,
        location=locations["A"],
        scopes="contacts.readonly workflows.readonly socialplanner/tag.readonly",
    )
    connection.access_token = "token-value"
    connection.save()
    return locations["A"]


def test_every_flow_trigger_is_a_real_flow_and_polling_trigger(connected, role_users):
    for template_key, trigger in FLOW_TRIGGERS.items():
        assert template_key in FLOW_TEMPLATES
        applied = flow_apply(
            template_key=template_key, location_id=connected.pk, user_id=role_users["staff"].pk
        )
        assert applied.subscription_created, (template_key, applied.note)
        assert (
            applied.subscription.trigger == trigger
            and applied.subscription.mapping == applied.mapping
        )


def test_applying_twice_creates_nothing_new(connected, role_users):
    first = flow_apply(template_key="ghl_contact_upsert", location_id=connected.pk, user_id=None)
    again = flow_apply(template_key="ghl_contact_upsert", location_id=connected.pk, user_id=None)
    assert not again.mapping_created and not again.subscription_created
    assert again.subscription == first.subscription
    assert Subscription.objects.count() == 1 and Mapping.objects.count() == 1


def test_without_a_connection_the_mapping_is_made_and_the_note_says_what_to_do(locations):
    applied = flow_apply(
        template_key="ghl_contact_upsert", location_id=locations["B"].pk, user_id=None
    )
    assert applied.mapping_created and applied.subscription is None
    assert "connect the location" in applied.note
    assert not Subscription.objects.exists()


def test_a_flow_without_a_trigger_makes_only_its_mapping(connected):
    applied = flow_apply(template_key="rankr_user_create", location_id=connected.pk, user_id=None)
    assert applied.mapping_created and applied.subscription is None and applied.note == ""


def test_the_admin_action_starts_polling(client, connected, role_users):
    client.force_login(role_users["staff"])
    response = client.post(
        "/admin/mappings/mapping/apply-template/",
        {"locations": [connected.pk], "templates": ["ghl_contact_upsert"]},
        follow=True,
    )
    assert b"Now polling every 5 minutes at 1 location(s)." in response.content
    assert Subscription.objects.filter(location=connected, trigger="Search Contacts").exists()


def test_test_connection_counts_the_polled_trigger_among_needed_operations(connected):
    from integrations.sync.connections import connection_required_operations

    applied = flow_apply(template_key="ghl_contact_upsert", location_id=connected.pk, user_id=None)
    needed = connection_required_operations(connection=applied.subscription.connection)
    assert "POST /contacts/search" in needed and "GET /contacts/{contactId}" in needed
    Subscription.objects.update(enabled=False)
    assert "POST /contacts/search" not in connection_required_operations(
        connection=applied.subscription.connection
    )
