"""The mapping preview's *Fetch a sample* reads a real record through the catalog."""

import pytest
from responses import matchers

from integrations.sync.preview import PreviewSampleUnavailable, preview_sample_fetch
from rankr.models import Contact


@pytest.mark.django_db
def test_a_contact_sample_is_searched_then_read_by_the_mappings_operation(
    events_connection, templates, mocked, api_base
):
    search = mocked.post(
        f"{api_base}/contacts/search",
        match=[
            matchers.json_params_matcher(
                {"locationId": "loc-1", "pageLimit": 3}, strict_match=False
            )
        ],
        json={"contacts": [{"id": "c-1", "email": "a@x.io"}], "total": 1},
    )
    contact = {
        "id": "c-1",
        "email": "a@x.io",
        "firstName": "Ada",
        "customFields": [{"id": "cf-1", "value": "blue"}],
    }
    mocked.get(f"{api_base}/contacts/c-1", json={"contact": contact})
    sample = preview_sample_fetch(mapping_id=templates["ghl_contact_upsert"].pk)
    # The contact itself, not the first entry of a list inside it (its customFields).
    assert sample == contact
    assert search.call_count == 1


@pytest.mark.django_db
def test_the_deprecated_contact_list_is_never_called(
    events_connection, templates, mocked, api_base
):
    mocked.post(
        f"{api_base}/contacts/search",
        json={
            "contacts": [
                {"id": "c-9", "customFields": [{"id": "cf-1", "value": "x"}], "tags": ["a"]}
            ],
            "total": 1,
        },
    )
    mocked.get(
        f"{api_base}/contacts/c-9",
        json={
            "contact": {"id": "c-9", "customFields": [{"id": "cf-1", "value": "x"}], "tags": ["a"]}
        },
    )
    mapping = templates["ghl_contact_upsert"]
    mapping.operation_key = "POST /contacts/search"
    mapping.save()
    assert preview_sample_fetch(mapping_id=mapping.pk)["id"] == "c-9"
    assert all(
        "/contacts/?" not in c.request.url and not c.request.url.endswith("/contacts/")
        for c in mocked.calls
    )


@pytest.mark.django_db
def test_a_task_sample_tries_the_first_contacts_until_one_has_a_task(
    events_connection, templates, mocked, api_base
):
    mocked.post(f"{api_base}/contacts/search", json={"contacts": [{"id": "c-1"}, {"id": "c-2"}]})
    mocked.get(f"{api_base}/contacts/c-1/tasks", json={"tasks": []})
    mocked.get(f"{api_base}/contacts/c-2/tasks", json={"tasks": [{"id": "t-2", "title": "Call"}]})
    assert preview_sample_fetch(mapping_id=templates["ghl_task_sync"].pk) == {
        "id": "t-2",
        "title": "Call",
    }


@pytest.mark.django_db
def test_an_empty_location_says_there_is_nothing_to_sample(
    events_connection, templates, mocked, api_base
):
    mocked.post(f"{api_base}/contacts/search", json={"contacts": [], "total": 0})
    with pytest.raises(PreviewSampleUnavailable, match="HighLevel returned no contact record"):
        preview_sample_fetch(mapping_id=templates["ghl_contact_upsert"].pk)


@pytest.mark.django_db
def test_highlevel_errors_become_a_clear_message(
    events_connection, templates, mocked, api_base, sleeps
):
    mocked.post(
        f"{api_base}/contacts/search",
        status=403,
        json={"message": "The token is not authorized for this scope."},
    )
    with pytest.raises(PreviewSampleUnavailable, match="not authorized for this scope"):
        preview_sample_fetch(mapping_id=templates["ghl_contact_upsert"].pk)


@pytest.mark.django_db
def test_a_rankr_to_highlevel_mapping_samples_the_latest_rankr_record(templates, location):
    with pytest.raises(PreviewSampleUnavailable, match="has no Rankr contact yet"):
        preview_sample_fetch(mapping_id=templates["rankr_lead_create"].pk)
    lead = Contact.objects.create(location=location, email="lead@x.io", first_name="Grace")
    sample = preview_sample_fetch(mapping_id=templates["rankr_lead_create"].pk)
    assert (sample["id"], sample["email"], sample["first_name"], sample["ghl_id"]) == (
        lead.pk,
        "lead@x.io",
        "Grace",
        None,
    )
