"""Contacts as HighLevel keeps them: per location, duplicates refused, upsert, tags, followers,
enrolments, search; every change announced as its documented webhook event."""

import pytest

from sandbox.models import Resource
from tests.sandbox.conftest import LOCATION, OTHER_LOCATION, Api

pytestmark = pytest.mark.django_db


def create(api, **fields):
    response = api.post("/contacts/", {"locationId": LOCATION, **fields})
    assert response.status_code == 201, response.content
    return response.json()["contact"]


def test_it_creates_a_contact_and_reads_it_back(api):
    contact = create(api, firstName="Ada", lastName="Lovelace", email="Ada@Example.com")
    got = api.get(f"/contacts/{contact['id']}").json()["contact"]
    assert got["name"] == "Ada Lovelace"
    assert got["emailLowerCase"] == "ada@example.com"
    assert got["locationId"] == LOCATION


def test_it_refuses_a_duplicate_email_as_highlevel_does(api):
    create(api, email="dup@example.com")
    response = api.post("/contacts/", {"locationId": LOCATION, "email": "DUP@example.com"})
    assert response.status_code == 400
    assert response.json()["message"] == "This location does not allow duplicated contacts."


def test_upsert_updates_the_match_and_creates_otherwise(api):
    first = api.post(
        "/contacts/upsert", {"locationId": LOCATION, "email": "u@example.com", "firstName": "Una"}
    ).json()
    again = api.post(
        "/contacts/upsert", {"locationId": LOCATION, "email": "u@example.com", "lastName": "Later"}
    ).json()
    assert first["new"] is True and again["new"] is False
    assert again["contact"]["id"] == first["contact"]["id"]
    assert again["contact"]["name"] == "Una Later"


def test_duplicate_lookup_matches_phone_digits(api):
    contact = create(api, phone="+1 (555) 010-2000")
    found = api.get(
        f"/contacts/search/duplicate?locationId={LOCATION}&number=%2B15550102000"
    ).json()
    assert found["contact"]["id"] == contact["id"]
    none = api.get(f"/contacts/search/duplicate?locationId={LOCATION}&email=x@y.z").json()
    assert none["contact"] is None


def test_a_token_cannot_touch_another_locations_contact(client, world, api):
    contact = create(api, email="mine@example.com")
    other = Api(client, world.other_location_token)
    response = other.get(f"/contacts/{contact['id']}")
    assert response.status_code == 403
    assert {k: v for k, v in response.json().items() if k != "traceId"} == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "The token does not have access to this location.",
    }
    assert other.post("/contacts/", {"locationId": LOCATION}).status_code == 403
    assert other.post("/contacts/", {"locationId": OTHER_LOCATION}).status_code == 201


def test_update_and_delete_announce_their_events(api, emitted):
    contact = create(api, email="ev@example.com")
    assert (
        api.put(f"/contacts/{contact['id']}", {"firstName": "Eve"}).json()["contact"]["firstName"]
        == "Eve"
    )
    assert api.delete(f"/contacts/{contact['id']}").json()["succeded"] is True
    assert emitted.types() == ["ContactCreate", "ContactUpdate", "ContactDelete"]
    created = emitted.of("ContactCreate")[0]
    assert created["id"] == contact["id"] and created["locationId"] == LOCATION
    assert created["type"] == "ContactCreate"
    missing = api.get(f"/contacts/{contact['id']}")
    assert missing.status_code == 400 and missing.json()["message"] == "Contact not found"


def test_tags_add_and_remove_and_emit_tag_updates(api, emitted):
    contact = create(api, tags=["one"])
    assert api.post(f"/contacts/{contact['id']}/tags", {"tags": ["two", "one"]}).json()["tags"] == [
        "one",
        "two",
    ]
    assert api.delete(f"/contacts/{contact['id']}/tags", {"tags": ["ONE"]}).json()["tags"] == [
        "two"
    ]
    assert [p["tags"] for p in emitted.of("ContactTagUpdate")] == [["one", "two"], ["two"]]


def test_bulk_tags_counts_contacts_it_cannot_find(api):
    a, b = create(api, email="a@example.com"), create(api, email="b@example.com")
    body = {"locationId": LOCATION, "contacts": [a["id"], b["id"], "nope"], "tags": ["vip"]}
    answer = api.post("/contacts/bulk/tags/update/add", body).json()
    assert answer["errorCount"] == 1 and answer["succeded"] is False
    assert api.get(f"/contacts/{a['id']}").json()["contact"]["tags"] == ["vip"]
    bad = api.post("/contacts/bulk/tags/update/toggle", body)
    assert bad.status_code == 422


def test_followers_are_added_once_and_removed(api):
    contact = create(api)
    added = api.post(
        f"/contacts/{contact['id']}/followers", {"followers": ["u1", "u2", "u1"]}
    ).json()
    assert added.pop("traceId") and added == {
        "followers": ["u1", "u2"],
        "followersAdded": ["u1", "u2"],
    }
    removed = api.delete(f"/contacts/{contact['id']}/followers", {"followers": ["u1"]}).json()
    assert removed.pop("traceId") and removed == {"followers": ["u2"], "followersRemoved": ["u1"]}


def test_campaign_and_workflow_enrolment(api):
    contact = create(api)
    cid = contact["id"]
    assert api.post(f"/contacts/{cid}/campaigns/camp1").status_code == 201
    assert (
        api.post(
            f"/contacts/{cid}/workflow/wf1", {"eventStartTime": "2024-01-01T00:00:00Z"}
        ).status_code
        == 200
    )
    assert api.delete(f"/contacts/{cid}/campaigns/camp1").status_code == 200
    assert api.delete(f"/contacts/{cid}/campaigns/camp1").status_code == 400  # already left
    api.post(f"/contacts/{cid}/campaigns/camp2")
    assert api.delete(f"/contacts/{cid}/campaigns/removeAll").status_code == 200
    assert api.delete(f"/contacts/{cid}/campaigns/camp2").status_code == 400
    assert api.delete(f"/contacts/{cid}/workflow/wf1").status_code == 200


def test_search_filters_sorts_and_pages(api):
    for name, tags in [("Cleo", ["vip"]), ("Abe", ["vip", "x"]), ("Bea", [])]:
        create(api, firstName=name, email=f"{name.lower()}@example.com", tags=tags)
    body = {
        "locationId": LOCATION,
        "filters": [{"field": "tags", "operator": "eq", "value": "VIP"}],
        "sort": [{"field": "firstNameLowerCase", "direction": "asc"}],
        "pageLimit": 1,
        "page": 2,
    }
    answer = api.post("/contacts/search", body).json()
    assert answer["total"] == 2
    assert [c["firstName"] for c in answer["contacts"]] == ["Cleo"]
    grouped = {
        "locationId": LOCATION,
        "filters": [
            {
                "group": "OR",
                "filters": [
                    {"field": "email", "operator": "eq", "value": "bea@example.com"},
                    {"field": "firstNameLowerCase", "operator": "eq", "value": "abe"},
                ],
            }
        ],
    }
    assert sorted(
        c["firstName"] for c in api.post("/contacts/search", grouped).json()["contacts"]
    ) == ["Abe", "Bea"]
    unknown = api.post(
        "/contacts/search",
        {"locationId": LOCATION, "filters": [{"field": "email", "operator": "near", "value": 1}]},
    )
    assert unknown.status_code == 400  # search documents 400, not 422
    assert unknown.json()["message"] == "operator near is not supported"


def test_search_after_continues_where_the_last_page_ended(api):
    ids = [create(api, email=f"s{n}@example.com")["id"] for n in range(5)]
    first = api.post("/contacts/search", {"locationId": LOCATION, "pageLimit": 2}).json()[
        "contacts"
    ]
    rest = api.post(
        "/contacts/search",
        {"locationId": LOCATION, "pageLimit": 10, "searchAfter": first[-1]["searchAfter"]},
    ).json()["contacts"]
    assert [c["id"] for c in first + rest] == ids


def test_tasks_and_notes_of_a_contact(api, emitted):
    contact = create(api)
    base = f"/contacts/{contact['id']}"
    task = api.post(
        f"{base}/tasks", {"title": "Call", "dueDate": "2024-01-02T00:00:00Z", "completed": False}
    ).json()["task"]
    assert (
        api.put(f"{base}/tasks/{task['id']}/completed", {"completed": True}).json()["task"][
            "completed"
        ]
        is True
    )
    assert [t["id"] for t in api.get(f"{base}/tasks").json()["tasks"]] == [task["id"]]
    note = api.post(f"{base}/notes", {"body": "Likes email"}).json()["note"]
    assert api.get(f"{base}/notes/{note['id']}").json()["note"]["body"] == "Likes email"
    assert api.get(f"/contacts/nobody/notes/{note['id']}").status_code == 400
    assert emitted.types()[1:] == ["TaskCreate", "TaskComplete", "NoteCreate"]
    assert emitted.of("TaskComplete")[0]["contactId"] == contact["id"]


def test_deleting_a_contact_takes_its_tasks_and_notes(api):
    contact = create(api, email="gone@example.com")
    base = f"/contacts/{contact['id']}"
    task = api.post(
        f"{base}/tasks", {"title": "T", "dueDate": "2024-01-02T00:00:00Z", "completed": False}
    ).json()["task"]
    api.post(f"{base}/notes", {"body": "N"})
    api.delete(base)
    assert not Resource.objects.filter(parent_id=contact["id"], deleted=False).exists()
    assert Resource.objects.get(resource_id=task["id"]).deleted is True


def test_a_change_is_recorded_as_a_webhook_event_by_sandbox_access(api):
    from sandbox.access.models import WebhookEvent

    contact = create(api, email="hook@example.com")
    event = WebhookEvent.objects.get(event_type="ContactCreate")
    assert event.location_id == LOCATION
    assert f'"id":"{contact["id"]}"' in event.body and '"webhookId"' in event.body
