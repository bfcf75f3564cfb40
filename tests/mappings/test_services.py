import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from mappings.entities import ENTITIES
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping, MappingVersion
from mappings.services import (
    MappingError,
    mapping_apply,
    mapping_check,
    mapping_save,
    mapping_template_apply,
    mapping_version_latest,
)
from portal.models import AuditEvent
from tests.rankr.helpers import user_make

SPECS = Path(settings.BASE_DIR) / "specs" / "highlevel" / "apps"


def _spec_operations():
    """{"METHOD /path": operation} over the official spec files."""
    operations = {}
    for spec_file in SPECS.glob("*.json"):
        spec = json.loads(spec_file.read_text())
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    operations[f"{method.upper()} {path}"] = (spec, path, operation)
    return operations


def _fields_of(spec, path, operation):
    # Path parameters from the template too: some operations (DELETE /users/{userId}) do not
    # declare theirs in "parameters".
    names = set(re.findall(r"{(\w+)}", path))
    names |= {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return names | set(schema.get("properties", {}))


def contact_mapping(location, rules=None):
    return Mapping(
        location=location,
        name="Contacts in",
        entity="contact",
        direction="ghl_to_rankr",
        rules=rules if rules is not None else [{"source": "email", "target": "email"}],
    )


def test_every_save_that_changes_rules_makes_a_new_immutable_version(location):
    staff = user_make(username="staff")
    mapping = contact_mapping(location)
    v1 = mapping_save(mapping=mapping, user_id=staff.pk)
    mapping.rules = [*mapping.rules, {"source": "phone", "target": "phone"}]
    v2 = mapping_save(mapping=mapping, user_id=None)
    assert (v1.number, v2.number) == (1, 2)
    assert v1.rules == [{"source": "email", "target": "email"}]
    assert len(v2.rules) == 2 and v2.created_by is None and v1.created_by == staff
    assert mapping_version_latest(mapping_id=mapping.pk) == v2

    v1.rules = []
    with pytest.raises(ValueError, match="immutable"):
        v1.save()
    v1.refresh_from_db()
    assert v1.rules == [{"source": "email", "target": "email"}]


def test_a_save_that_changes_nothing_makes_no_version(location):
    mapping = contact_mapping(location)
    v1 = mapping_save(mapping=mapping, user_id=None)
    mapping.name = "Renamed"
    assert mapping_save(mapping=mapping, user_id=None) == v1
    mapping.null_policy = "clear"
    assert mapping_save(mapping=mapping, user_id=None).number == 2
    assert MappingVersion.objects.count() == 2


def test_each_change_is_recorded_as_an_audit_event(location):
    staff = user_make(username="staff")
    mapping = contact_mapping(location)
    mapping_save(mapping=mapping, user_id=staff.pk)
    mapping.rules = []
    mapping_save(mapping=mapping, user_id=staff.pk)
    events = list(AuditEvent.objects.filter(action="mapping.changed").order_by("at", "pk"))
    assert [e.detail["version"] for e in events] == [1, 2]
    assert events[0].actor == staff and events[0].location == location
    assert events[1].detail["previous_rules"] == [{"source": "email", "target": "email"}]
    assert events[1].detail["rules"] == [] and events[0].detail["created"] is True


def test_a_mapping_with_bad_rules_is_not_saved(location):
    mapping = contact_mapping(location, rules=[{"source": "email", "target": "e_mail"}])
    with pytest.raises(ValidationError) as exc:
        mapping_save(mapping=mapping, user_id=None)
    assert "Rule 1 (field 'e_mail'): unknown target field" in exc.value.message_dict["rules"][0]
    assert not Mapping.objects.exists() and not MappingVersion.objects.exists()


def test_apply_uses_the_version_not_the_draft(location):
    mapping = contact_mapping(location)
    version = mapping_save(mapping=mapping, user_id=None)
    mapping.rules = [{"source": "email", "target": "company"}]  # edited, not saved
    assert mapping_apply(mapping_version=version, record={"email": "a@x.io"}) == {"email": "a@x.io"}


def test_apply_raises_a_mapping_error_naming_rule_and_field(location):
    mapping = contact_mapping(
        location,
        rules=[
            {"source": "dateAdded", "target": "custom_1", "transforms": ["datetime_parse"]},
        ],
    )
    version = mapping_save(mapping=mapping, user_id=None)
    with pytest.raises(MappingError, match=r"^Rule 1 \(source 'dateAdded' → field 'custom_1'\)"):
        mapping_apply(mapping_version=version, record={"dateAdded": "last tuesday"})


@pytest.mark.parametrize("key", sorted(FLOW_TEMPLATES))
def test_every_template_checks_and_names_a_real_highlevel_operation(key):
    template = FLOW_TEMPLATES[key]
    assert (
        mapping_check(
            entity=template.entity,
            direction=template.direction,
            null_policy=template.null_policy,
            rules=template.rules,
        )
        == []
    )
    assert template.operation_key in _spec_operations()


def test_there_is_a_template_for_each_flow_of_the_product_table():
    # 12 table rows ("note added / meeting scheduled" is two), and the catalog's users and
    # opportunities HighLevel → Rankr
    assert len(FLOW_TEMPLATES) == 15


@pytest.mark.parametrize("key", sorted(ENTITIES))
def test_highlevel_target_fields_exist_in_the_official_specs(key):
    operations = _spec_operations()
    known = set()
    for spec, path, operation in operations.values():
        known |= _fields_of(spec, path, operation)
    missing = set(ENTITIES[key].highlevel_fields) - known
    assert missing == set()


def test_rankr_to_highlevel_templates_target_their_operations_fields():
    operations = _spec_operations()
    for template in FLOW_TEMPLATES.values():
        if template.direction != "rankr_to_ghl":
            continue
        fields = _fields_of(*operations[template.operation_key])
        targets = {rule["target"] for rule in template.rules}
        assert targets <= fields, (template.title, targets - fields)


def test_template_apply_twice_makes_one_mapping_and_one_version(location):
    staff = user_make(username="staff")
    mapping, created = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=staff.pk
    )
    again, created_again = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=staff.pk
    )
    assert (created, created_again) == (True, False)
    assert again.pk == mapping.pk
    assert Mapping.objects.count() == 1 and MappingVersion.objects.count() == 1
    assert mapping.template_key == "ghl_contact_upsert"
    assert mapping.operation_key == "GET /contacts/{contactId}"
    assert AuditEvent.objects.filter(action="mapping.changed").count() == 1


def test_template_apply_keeps_a_hand_made_mapping_for_the_same_flow(location, other_location):
    hand_made = contact_mapping(location)
    hand_made.operation_key = "GET /contacts/{contactId}"
    mapping_save(mapping=hand_made, user_id=None)
    mapping, created = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    assert (mapping.pk, created) == (hand_made.pk, False)
    assert mapping.rules == [{"source": "email", "target": "email"}]
    # Another location gets its own.
    _, created_elsewhere = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=other_location.pk, user_id=None
    )
    assert created_elsewhere


def test_applied_templates_map_sample_records(location):
    ghl, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    out = mapping_apply(
        mapping_version=mapping_version_latest(mapping_id=ghl.pk),
        record={"email": "ADA@x.io ", "firstName": "Ada", "phone": "415 555 2671", "tags": None},
    )
    assert out == {"email": "ada@x.io", "first_name": "Ada", "phone": "+14155552671", "tags": []}

    lead, _ = mapping_template_apply(
        template_key="rankr_lead_create", location_id=location.pk, user_id=None
    )
    out = mapping_apply(
        mapping_version=mapping_version_latest(mapping_id=lead.pk),
        record={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "a@x.io",
            "phone": "",
            "source": "",
            "tags": ["lead"],
        },
    )
    assert out == {
        "name": "Ada Lovelace",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "a@x.io",
        "tags": ["lead"],
        "source": "Rankr",
    }


def test_unknown_template_is_a_clear_error(location):
    from mappings.services import TemplateError

    with pytest.raises(
        TemplateError, match="Unknown template 'nope'; templates: ghl_contact_upsert"
    ):
        mapping_template_apply(template_key="nope", location_id=location.pk, user_id=None)


def test_a_page_is_mapped_and_upserted_and_unchanged_records_are_skipped(location):
    from mappings.models import QuarantinedRecord
    from mappings.services import mapping_page_apply
    from rankr.models import Contact

    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    v1 = mapping_version_latest(mapping_id=mapping.pk)
    records = [
        {"id": "c1", "email": "A@x.io", "phone": "415 555 2671"},
        {"id": "c2", "email": "b@x.io", "phone": "not a phone"},
        {"email": "no-id@x.io"},
    ]
    result = mapping_page_apply(mapping_version=v1, location_id=location.pk, records=records)
    assert (result.counts.created, result.counts.updated) == (1, 0)
    assert [f[0] for f in result.failed] == ["#2"] and result.quarantined == 1
    aside = QuarantinedRecord.objects.get()
    assert (aside.ghl_id, aside.rule_number, aside.field, aside.value) == (
        "c2",
        4,
        "phone",
        "not a phone",
    )
    assert "Rule 4 (source 'phone' → field 'phone')" in aside.reason
    assert Contact.objects.get().email == "a@x.io"

    again = mapping_page_apply(mapping_version=v1, location_id=location.pk, records=records[:1])
    assert again.counts.unchanged == 1

    mapping.rules = [r for r in mapping.rules if r["target"] != "email"]
    v2 = mapping_save(mapping=mapping, user_id=None)
    changed = mapping_page_apply(mapping_version=v2, location_id=location.pk, records=records[:1])
    assert changed.counts.updated == 1  # a new mapping version re-applies unchanged data


def test_page_apply_refuses_a_rankr_to_highlevel_mapping(location):
    from mappings.services import mapping_page_apply

    mapping, _ = mapping_template_apply(
        template_key="rankr_user_create", location_id=location.pk, user_id=None
    )
    with pytest.raises(ValueError, match="does not map HighLevel records into Rankr"):
        mapping_page_apply(
            mapping_version=mapping_version_latest(mapping_id=mapping.pk),
            location_id=location.pk,
            records=[],
        )


def test_a_page_rankr_already_holds_costs_no_savepoint_and_the_version_brings_its_time_zone(
    location, django_assert_num_queries
):
    """A poll over unchanged data: the latest version is read with its location's time zone in
    one statement, and applying the page opens no savepoint for an upsert of nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mappings.services import mapping_page_apply, mapping_time_zone

    location.time_zone = "Asia/Tokyo"
    location.save(update_fields=["time_zone"])
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    records = [{"id": "c1", "email": "a@x.io"}, {"id": "c2", "email": "b@x.io"}]
    with django_assert_num_queries(1):
        version = mapping_version_latest(mapping_id=mapping.pk)
        assert mapping_time_zone(mapping_version=version) == "Asia/Tokyo"
    assert (
        mapping_page_apply(
            mapping_version=version, location_id=location.pk, records=records
        ).counts.created
        == 2
    )

    with CaptureQueriesContext(connection) as queries:
        again = mapping_page_apply(
            mapping_version=version, location_id=location.pk, records=records
        )
    assert again.counts.unchanged == 2
    savepoints = [q["sql"] for q in queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1  # the page's own (mapping_page_apply is atomic), none inside
