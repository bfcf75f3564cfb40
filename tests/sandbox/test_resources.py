"""The other stateful resources: calendars and appointments, users, opportunities, businesses,
conversations, custom fields, location tags, social planner, blogs, associations, courses."""

import pytest

from sandbox.state.seed import sandbox_seed
from tests.sandbox.conftest import COMPANY, LOCATION

pytestmark = pytest.mark.django_db


def contact(api, email="c@example.com"):
    return api.post("/contacts/", {"locationId": LOCATION, "email": email}).json()["contact"]["id"]


def test_appointments_are_kept_listed_and_announced(api, emitted):
    created = api.post("/calendars/", {"locationId": LOCATION, "name": "Consults"})
    assert created.status_code == 200, created.content
    calendar = created.json()["calendar"]
    cid = contact(api)
    event = api.post(
        "/calendars/events/appointments",
        {
            "calendarId": calendar["id"],
            "locationId": LOCATION,
            "contactId": cid,
            "startTime": "2024-05-01T09:00:00Z",
            "endTime": "2024-05-01T09:30:00Z",
            "title": "First",
        },
    ).json()
    assert (
        api.get(f"/calendars/events/appointments/{event['id']}").json()["event"]["title"] == "First"
    )
    assert [e["id"] for e in api.get(f"/contacts/{cid}/appointments").json()["events"]] == [
        event["id"]
    ]
    may = "startTime=1714521600000&endTime=1717199999000"  # 2024-05-01 .. 2024-05-31
    listed = api.get(f"/calendars/events?locationId={LOCATION}&{may}&calendarId={calendar['id']}")
    assert [e["id"] for e in listed.json()["events"]] == [event["id"]]
    june = "startTime=1717200000000&endTime=1719791999000"
    assert (
        api.get(
            f"/calendars/events?locationId={LOCATION}&{june}&calendarId={calendar['id']}"
        ).json()["events"]
        == []
    )
    assert emitted.of("AppointmentCreate")[0]["appointment"]["id"] == event["id"]


def test_users_are_created_and_announced(api, emitted):
    user = api.post(
        "/users/",
        {
            "companyId": COMPANY,
            "firstName": "Uma",
            "lastName": "U",
            "email": "uma@example.com",
            "password": "x" * 12,
            "type": "account",
            "role": "user",
            "locationIds": [LOCATION],
        },
    ).json()
    assert api.get(f"/users/{user['id']}").json()["firstName"] == "Uma"
    assert [u["id"] for u in api.get(f"/users/?locationId={LOCATION}").json()["users"]] == [
        user["id"]
    ]
    assert emitted.types()[-1] == "UserCreate"


def test_users_answer_in_the_documented_shape_and_never_with_a_password(api, emitted):
    """users.json: ``roles`` (RoleSchema) holds type/role/locationIds; no password, ever."""
    secret = "S3cret-never-shown!"
    created = api.post(
        "/users/",
        {
            "companyId": COMPANY,
            "firstName": "Uma",
            "lastName": "Ulm",
            "email": "uma@example.com",
            "password": secret,
            "type": "account",
            "role": "user",
            "locationIds": [LOCATION],
        },
    )
    user = created.json()
    roles = {"type": "account", "role": "user", "locationIds": [LOCATION]}
    assert user["roles"] == roles and user["name"] == "Uma Ulm"
    updated = api.put(f"/users/{user['id']}", {"role": "admin", "password": secret + "2"}).json()
    assert updated["roles"] == {**roles, "role": "admin"} and updated["firstName"] == "Uma"
    answers = [
        created,
        api.get(f"/users/{user['id']}"),
        api.get(f"/users/?locationId={LOCATION}"),
        api.get(f"/users/search?companyId={COMPANY}&locationId={LOCATION}"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert secret not in answer.content.decode() and '"password"' not in answer.content.decode()
        body = answer.json()
        found = body.get("users", [body])[0]
        assert not {"type", "role", "locationIds"} & set(found), found
    assert (
        api.get(f"/users/search?companyId={COMPANY}&locationId={LOCATION}").json()["users"][0][
            "roles"
        ]["role"]
        == "admin"
    )
    event = emitted.of("UserCreate")[-1]
    assert (event["id"], event["role"], event["locations"]) == (user["id"], "user", [LOCATION])
    assert "password" not in event


def test_opportunities_status_and_upsert(api, emitted):
    cid = contact(api)
    opp = api.post(
        "/opportunities/",
        {
            "pipelineId": "p1",
            "locationId": LOCATION,
            "name": "Deal",
            "status": "open",
            "contactId": cid,
        },
    ).json()["opportunity"]
    assert (
        api.put(f"/opportunities/{opp['id']}/status", {"status": "won"}).json()["succeded"] is True
    )
    assert api.get(f"/opportunities/{opp['id']}").json()["opportunity"]["status"] == "won"
    again = api.post(
        "/opportunities/upsert",
        {
            "pipelineId": "p1",
            "locationId": LOCATION,
            "contactId": cid,
            "name": "Deal 2",
            "status": "open",
            "followers": [],
            "isRemoveAllFollowers": False,
            "followersActionType": "add",
        },
    ).json()
    assert again["new"] is False and again["opportunity"]["id"] == opp["id"]
    found = api.get(f"/opportunities/search?location_id={LOCATION}").json()["opportunities"]
    assert [o["name"] for o in found] == ["Deal 2"]
    # The upsert renames and reopens: OpportunityUpdate, then its own OpportunityStatusUpdate.
    assert emitted.types()[1:] == [
        "OpportunityCreate",
        "OpportunityStatusUpdate",
        "OpportunityUpdate",
        "OpportunityStatusUpdate",
    ]


def test_businesses_answer_with_the_specs_spelling(api):
    created = api.post("/businesses/", {"name": "Acme", "locationId": LOCATION}).json()
    assert created["success"] is True and created["buiseness"]["name"] == "Acme"
    assert api.get(f"/businesses/{created['buiseness']['id']}").json()["business"]["name"] == "Acme"


def test_messages_land_in_the_contacts_conversation(api, emitted):
    cid = contact(api)
    sent = api.post(
        "/conversations/messages",
        {"type": "SMS", "contactId": cid, "message": "Hi", "subType": {}, "status": "pending"},
    ).json()
    inbound = api.post(
        "/conversations/messages/inbound",
        {
            "type": "SMS",
            "conversationId": sent["conversationId"],
            "contactId": cid,
            "conversationProviderId": "prov1",
            "message": "Hello back",
        },
    )
    assert inbound.status_code == 200, inbound.content
    messages = api.get(f"/conversations/{sent['conversationId']}/messages").json()
    assert [m["body"] for m in messages["messages"]] == ["Hi", "Hello back"]
    assert emitted.types()[-2:] == ["OutboundMessage", "InboundMessage"]


def test_custom_fields_and_location_tags(api):
    field = api.post(
        f"/locations/{LOCATION}/customFields", {"name": "Score", "dataType": "NUMERICAL"}
    ).json()
    fid = field["customField"]["id"]
    api.put(f"/locations/{LOCATION}/customFields/{fid}", {"name": "Rankr score"})
    names = [
        f["name"] for f in api.get(f"/locations/{LOCATION}/customFields").json()["customFields"]
    ]
    assert names == ["Rankr score"]
    tag = api.post(f"/locations/{LOCATION}/tags", {"name": "vip"}).json()["tag"]
    assert api.delete(f"/locations/{LOCATION}/tags/{tag['id']}").json()["succeded"] is True
    assert api.get(f"/locations/{LOCATION}/tags").json()["tags"] == []


def test_seeded_social_tags_statistics_workflows_and_campaigns(api, world):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=0, seed=3)
    tags = api.get(f"/social-media-posting/{LOCATION}/tags?searchText=pro").json()["results"][
        "tags"
    ]
    assert [t["tag"] for t in tags] == ["promo"]
    stats = api.post(
        f"/social-media-posting/statistics?locationId={LOCATION}",
        {"profileIds": [f"profile-{LOCATION}"]},
    ).json()["results"]["totals"]
    assert stats["impressions"] >= 700  # seven seeded days of at least 100
    assert len(api.get(f"/workflows/?locationId={LOCATION}").json()["workflows"]) == 3
    assert len(api.get(f"/campaigns/?locationId={LOCATION}").json()["campaigns"]) == 2


def test_blog_slugs_associations_and_course_imports(api, emitted):
    post = api.post(
        "/blogs/posts",
        {
            "title": "Hello",
            "locationId": LOCATION,
            "blogId": "b1",
            "urlSlug": "hello",
            "status": "PUBLISHED",
            "rawHTML": "<p>x</p>",
            "description": "d",
            "imageUrl": "https://x",
            "imageAltText": "a",
            "categories": [],
            "author": "a1",
            "publishedAt": "2024-01-01T00:00:00Z",
        },
    ).json()
    assert post["data"]["urlSlug"] == "hello"
    assert (
        api.get(f"/blogs/posts/url-slug-exists?urlSlug=hello&locationId={LOCATION}").json()[
            "exists"
        ]
        is True
    )
    assert (
        api.get(f"/blogs/posts/url-slug-exists?urlSlug=other&locationId={LOCATION}").json()[
            "exists"
        ]
        is False
    )
    relation = api.post(
        "/associations/relations",
        {
            "locationId": LOCATION,
            "associationId": "a1",
            "firstRecordId": "r1",
            "secondRecordId": "r2",
        },
    ).json()
    assert [
        r["id"]
        for r in api.get(
            f"/associations/relations/r2?locationId={LOCATION}&skip=0&limit=10"
        ).json()["relations"]
    ] == [relation["id"]]
    assert (
        api.post(
            "/courses/courses-exporter/public/import", {"locationId": LOCATION, "products": []}
        ).status_code
        == 201
    )
    assert emitted.types() == ["RelationCreate"]


def test_an_agency_token_lists_only_its_own_companys_resources(agency_api, world):
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=0, users=2)
    sandbox_seed(company_id="someone-else", location_ids=["loc-elsewhere"], contacts=0, users=4)
    users = agency_api.get(f"/users/search?companyId={COMPANY}").json()["users"]
    assert len(users) == 2 and {u["locationId"] for u in users} == {LOCATION}


def test_an_agency_token_cannot_reach_another_companys_location(agency_api):
    from sandbox.access.services.registry import sandbox_company_ensure

    sandbox_company_ensure(
        company_id="other-co",
        name="Other",
        locations=[{"location_id": "loc-other-co", "name": "Theirs"}],
    )
    assert (
        agency_api.get(f"/users/search?companyId={COMPANY}&locationId={LOCATION}").status_code
        == 200
    )
    refused = agency_api.get(f"/users/search?companyId={COMPANY}&locationId=loc-other-co")
    assert refused.status_code == 403


def test_opportunity_search_filters_and_pages_with_next_page_urls(api):
    for n in range(5):
        api.post(
            "/opportunities/",
            {
                "pipelineId": "p1" if n % 2 else "p2",
                "locationId": LOCATION,
                "name": f"Deal {n}",
                "status": "open",
                "contactId": f"c{n}",
            },
        )
    p1 = api.get(f"/opportunities/search?location_id={LOCATION}&pipeline_id=p1").json()
    assert [o["name"] for o in p1["opportunities"]] == ["Deal 1", "Deal 3"]
    page = api.get(f"/opportunities/search?location_id={LOCATION}&limit=2").json()
    assert page["meta"]["total"] == 5
    nxt = api.get(page["meta"]["nextPageUrl"].split("/sandbox/api", 1)[1]).json()
    assert [o["name"] for o in nxt["opportunities"]] == ["Deal 2", "Deal 3"]


def test_a_location_known_to_the_oauth_side_is_found_before_any_seed(api):
    location = api.get(f"/locations/{LOCATION}").json()["location"]
    assert location["id"] == LOCATION and location["name"] == "Test One"
    assert location["companyId"] == COMPANY
    assert api.get("/locations/loc-unknown").status_code == 403  # not the token's location
