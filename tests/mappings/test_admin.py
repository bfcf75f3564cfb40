import html
import json

import pytest
from django.urls import reverse

from mappings.models import Mapping, MappingVersion
from mappings.services import mapping_save, mapping_template_apply
from portal.models import AuditEvent
from portal.roles import AGENCY_STAFF, AUDITOR, SUPPORT
from tests.rankr.helpers import user_make

ADD = reverse("admin:mappings_mapping_add")
CHANGELIST = reverse("admin:mappings_mapping_changelist")
APPLY = reverse("admin:mappings_mapping_apply_template")


def change_url(mapping):
    return reverse("admin:mappings_mapping_change", args=[mapping.pk])


def preview_url(mapping):
    return reverse("admin:mappings_mapping_preview", args=[mapping.pk])


@pytest.fixture
def staff(location):
    return user_make(username="staff", role=AGENCY_STAFF, locations=[location])


@pytest.fixture
def mapping(location):
    mapping = Mapping(
        location=location,
        name="Contacts in",
        entity="contact",
        direction="ghl_to_rankr",
        rules=[
            {"source": "email", "target": "email", "transforms": ["trim", "lower"]},
            {
                "source": "phone",
                "target": "phone",
                "transforms": [{"name": "phone_e164", "args": {"country": "US"}}],
            },
        ],
    )
    mapping_save(mapping=mapping, user_id=None)
    return mapping


def form_data(location, rules, **extra):
    return {
        "location": location.pk,
        "name": "Contacts in",
        "entity": "contact",
        "direction": "ghl_to_rankr",
        "operation_key": "",
        "null_policy": "skip",
        "rules": json.dumps(rules),
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        **extra,
    }


def test_bad_rules_get_errors_naming_rule_number_and_field(client, staff, location):
    client.force_login(staff)
    rules = [
        {"source": "email", "target": "email"},
        {"source": "phone", "target": "telephone"},
        {"source": "phone", "target": "phone", "transforms": [{"name": "e164"}]},
        {
            "source": "tags",
            "target": "tags",
            "transforms": [{"name": "tags_add", "args": {"tag": "vip"}}],
        },
        {"source": "email..address", "target": "custom_1"},
    ]
    response = client.post(ADD, form_data(location, rules))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rules"]
    assert errors[0].startswith("Rule 2 (field 'telephone'): unknown target field 'telephone'")
    assert errors[1].startswith("Rule 3 (field 'phone'): transform 1: unknown transform 'e164'")
    assert (
        errors[2]
        == "Rule 4 (field 'tags'): transform 1: tags_add: unknown argument 'tag' (allowed: tags)"
    )
    assert errors[3].startswith(
        "Rule 4 (field 'tags'): transform 1: tags_add: missing argument 'tags'"
    )
    assert errors[4].startswith("Rule 5 (field 'custom_1'): source 'email..address' is not a path")
    assert "Rule 2 (field &#x27;telephone&#x27;)" in response.content.decode()
    assert not Mapping.objects.exists()


def test_rules_that_are_not_json_are_refused_saying_where_and_kept(client, staff, location):
    client.force_login(staff)
    data = form_data(location, [])
    data["rules"] = '[\n  {"source": "email",]'
    response = client.post(ADD, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["rules"] == [
        "The JSON is not valid at line 2, column 22: Expecting property name enclosed in double "
        'quotes. Line 2 reads: {"source": "email",]'
    ]
    assert '[\n  {"source": "email",]' in html.unescape(response.content.decode())


def test_staff_save_makes_a_version_and_an_audit_event(client, staff, location):
    client.force_login(staff)
    response = client.post(ADD, form_data(location, [{"source": "email", "target": "email"}]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    mapping = Mapping.objects.get()
    response = client.post(
        change_url(mapping), form_data(location, [{"source": "email", "target": "company"}])
    )
    assert response.status_code == 302
    versions = list(MappingVersion.objects.order_by("number"))
    assert [(v.number, v.created_by, v.rules[0]["target"]) for v in versions] == [
        (1, staff, "email"),
        (2, staff, "company"),
    ]
    assert AuditEvent.objects.filter(action="mapping.changed", actor=staff).count() == 2
    page = client.get(change_url(mapping)).content.decode()
    assert "phone_e164" in page  # the transform reference is on the form
    assert preview_url(mapping) in page


def test_staff_work_only_with_their_locations(client, staff, location, other_location, mapping):
    elsewhere = Mapping(
        location=other_location,
        name="Elsewhere",
        entity="contact",
        direction="ghl_to_rankr",
        rules=[],
    )
    mapping_save(mapping=elsewhere, user_id=None)
    client.force_login(staff)
    listing = client.get(CHANGELIST)
    assert list(listing.context["cl"].result_list) == [mapping]
    assert client.get(change_url(elsewhere)).status_code == 302  # "does not exist" redirect
    assert client.get(preview_url(elsewhere)).status_code == 404
    response = client.post(ADD, form_data(other_location, []))
    assert "location" in response.context["adminform"].form.errors
    assert Mapping.objects.count() == 2


def test_auditor_reads_every_mapping_and_changes_none(client, mapping, other_location):
    auditor = user_make(username="auditor", role=AUDITOR)
    client.force_login(auditor)
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(change_url(mapping)).status_code == 200
    assert client.post(change_url(mapping), form_data(mapping.location, [])).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.get(APPLY).status_code == 403
    version = mapping.versions.get()
    assert (
        client.get(reverse("admin:mappings_mappingversion_change", args=[version.pk])).status_code
        == 200
    )
    assert Mapping.objects.get().rules == mapping.rules


def test_support_does_not_see_mappings(client, mapping):
    support = user_make(username="support", role=SUPPORT)
    client.force_login(support)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(preview_url(mapping)).status_code == 403


def test_preview_shows_before_and_after_side_by_side(client, staff, mapping):
    client.force_login(staff)
    sample = {"email": " Ada@Example.com ", "phone": "415-555-2671", "id": "c-1"}
    response = client.post(preview_url(mapping), {"sample": json.dumps(sample), "apply": "1"})
    assert response.status_code == 200
    before = json.loads(response.context["result"].before)
    after = json.loads(response.context["result"].after)
    assert before == sample
    assert after == {"email": "ada@example.com", "phone": "+14155552671"}
    page = response.content.decode()
    assert 'id="preview-before"' in page and 'id="preview-after"' in page
    assert "+14155552671" in page and "Ada@Example.com" in page
    assert "(version 1)" in page


def test_preview_names_the_rule_that_cannot_apply(client, staff, mapping):
    client.force_login(staff)
    response = client.post(
        preview_url(mapping), {"sample": json.dumps({"phone": "nope"}), "apply": "1"}
    )
    assert response.context["result"].error.startswith(
        "Rule 2 (source 'phone' → field 'phone'): phone_e164: 'nope' is not a phone number"
    )
    assert response.context["result"].after == ""


@pytest.mark.parametrize(
    "sample, error",
    [
        ("", "Paste a sample record"),
        ("{oops", "That is not JSON"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_preview_refuses_a_bad_sample_and_keeps_it(client, staff, mapping, sample, error):
    client.force_login(staff)
    response = client.post(preview_url(mapping), {"sample": sample, "apply": "1"})
    assert error in response.context["form"].errors["sample"][0]
    assert response.context["result"] is None
    if sample:
        assert sample in html.unescape(response.content.decode())


def test_preview_fetch_says_no_connection_is_available(client, staff, mapping):
    client.force_login(staff)
    response = client.post(preview_url(mapping), {"fetch": "1"}, follow=True)
    assert "has no active HighLevel connection" in response.content.decode()
    assert response.context["result"] is None


def test_apply_templates_in_one_action_twice_makes_no_duplicates(client, staff, location):
    client.force_login(staff)
    data = {"locations": [location.pk], "templates": ["ghl_contact_upsert", "rankr_user_create"]}
    response = client.post(APPLY, data, follow=True)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert (
        "HighLevel contact created/updated → upsert Rankr contact: created at 1 location." in page
    )
    response = client.post(APPLY, data, follow=True)
    page = html.unescape(response.content.decode())
    assert (
        "New Rankr user → create HighLevel user: already mapped at 1 location, left as is." in page
    )
    assert sorted(Mapping.objects.values_list("template_key", flat=True)) == [
        "ghl_contact_upsert",
        "rankr_user_create",
    ]
    assert MappingVersion.objects.count() == 2


def test_staff_cannot_apply_templates_to_another_location(client, staff, other_location):
    client.force_login(staff)
    response = client.post(
        APPLY, {"locations": [other_location.pk], "templates": ["ghl_workflows"]}
    )
    assert response.status_code == 200
    assert "locations" in response.context["form"].errors
    assert not Mapping.objects.exists()


def test_the_changelist_links_to_templates_for_those_who_may_add(client, staff, location):
    client.force_login(staff)
    assert APPLY in client.get(CHANGELIST).content.decode()
    _mapping, _ = mapping_template_apply(
        template_key="ghl_workflows", location_id=location.pk, user_id=staff.pk
    )
    assert client.get(CHANGELIST).context["cl"].result_list[0].latest_version == 1


def test_an_emptied_rules_box_saves_a_mapping_without_rules(client, staff, location):
    client.force_login(staff)
    data = form_data(location, [])
    data["rules"] = ""
    response = client.post(ADD, data)
    assert response.status_code == 302
    assert Mapping.objects.get().versions.get().rules == []


def test_the_reapply_action_queues_mappings_with_stored_payloads(
    client, staff, mapping, location, monkeypatch, django_capture_on_commit_callbacks
):
    from mappings.models import SourcePayload

    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))
    SourcePayload.objects.create(
        location=location, entity="contact", ghl_id="c-1", payload={"id": "c-1"}
    )
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "payloads_reapply", "_selected_action": [mapping.pk]},
            follow=True,
        )
    assert "1 mapping(s) will be re-applied" in response.content.decode()
    assert queued == [("integrations.interfaces.tasks.payloads_reapply_task", mapping.pk)]
