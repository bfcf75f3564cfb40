"""Agency templates: inheritance, override precedence, staged rollout and rollback per location."""

import pytest
from django.core.exceptions import ValidationError

from mappings.inheritance import (
    mapping_override_drop,
    mapping_save_inherited,
    overrides_from_rules,
    rules_effective,
    template_attach,
    template_save,
)
from mappings.models import Mapping, MappingTemplate, Rollout, SourcePayload
from mappings.rollouts import rollout_complete, rollout_preview, rollout_rollback, rollout_start
from mappings.services import mapping_page_apply, mapping_version_latest
from portal.models import AuditEvent
from tests.rankr.helpers import location_make

EMAIL = {"source": "email", "target": "email", "transforms": [{"name": "trim"}]}
PHONE = {
    "source": "phone",
    "target": "phone",
    "transforms": [{"name": "phone_e164", "args": {"country": "US"}}],
}
PHONE_GB = {
    "source": "phone",
    "target": "phone",
    "transforms": [{"name": "phone_e164", "args": {"country": "GB"}}],
}
COMPANY = {"source": "companyName", "target": "company"}


@pytest.fixture
def template_locations(location):
    return [location] + [location_make(agency=location.agency, number=n) for n in (2, 3, 4)]


@pytest.fixture
def template(location):
    template = MappingTemplate(
        agency=location.agency,
        name="Contacts in",
        entity="contact",
        direction="ghl_to_rankr",
        operation_key="GET /contacts/{contactId}",
        rules=[EMAIL, PHONE],
    )
    template_save(template=template, user_id=None)
    return template


def _mapping(location):
    return Mapping.objects.get(location=location, entity="contact")


def test_an_override_replaces_the_templates_rule_for_its_field_and_nothing_else():
    assert rules_effective(template_rules=[EMAIL, PHONE], overrides={"phone": PHONE_GB}) == [
        EMAIL,
        PHONE_GB,
    ]
    assert rules_effective(template_rules=[EMAIL, PHONE], overrides={"phone": None}) == [EMAIL]
    assert rules_effective(template_rules=[EMAIL], overrides={"company": COMPANY}) == [
        EMAIL,
        COMPANY,
    ]


def test_edited_rules_become_overrides_and_back():
    edited = [EMAIL, PHONE_GB, COMPANY]
    overrides = overrides_from_rules(template_rules=[EMAIL, PHONE], rules=edited)
    assert overrides == {"phone": PHONE_GB, "company": COMPANY}
    assert rules_effective(template_rules=[EMAIL, PHONE], overrides=overrides) == edited
    assert overrides_from_rules(template_rules=[EMAIL, PHONE], rules=[PHONE]) == {"email": None}


@pytest.mark.django_db
def test_locations_inherit_the_template_and_keep_their_overrides_through_a_change(
    template, template_locations
):
    assert (
        template_attach(
            template_id=template.pk,
            location_ids=[loc.pk for loc in template_locations],
            user_id=None,
        )
        == 4
    )
    first = _mapping(template_locations[0])
    first.rules = [EMAIL, PHONE_GB]
    mapping_save_inherited(mapping=first, user_id=None)
    first.refresh_from_db()
    assert first.overrides == {"phone": PHONE_GB}

    template.rules = [{**EMAIL, "transforms": [{"name": "trim"}, {"name": "lower"}]}, PHONE]
    template_save(template=template, user_id=None)
    rollout = rollout_start(
        template_id=template.pk, location_ids=[template_locations[0].pk], user_id=None
    )
    rollout_complete(rollout_id=rollout.pk, user_id=None)
    first.refresh_from_db()
    # The template's new email rule arrives; the location's own phone rule wins over the template's.
    assert first.rules == [template.rules[0], PHONE_GB]
    assert _mapping(template_locations[1]).rules == template.rules
    assert mapping_version_latest(mapping_id=first.pk).rules == first.rules


@pytest.mark.django_db
def test_an_override_is_dropped_and_the_template_rule_returns_as_a_new_version(template, location):
    template_attach(template_id=template.pk, location_ids=[location.pk], user_id=None)
    mapping = _mapping(location)
    mapping.rules = [EMAIL, PHONE_GB]
    before = mapping_save_inherited(mapping=mapping, user_id=None).number
    version = mapping_override_drop(mapping_id=mapping.pk, key="phone", user_id=None)
    mapping.refresh_from_db()
    assert mapping.overrides == {} and mapping.rules == [EMAIL, PHONE]
    assert version.number == before + 1
    with pytest.raises(ValidationError):
        mapping_override_drop(mapping_id=mapping.pk, key="phone", user_id=None)


@pytest.mark.django_db
def test_a_template_change_reaches_chosen_locations_first_then_all_then_rolls_back(
    template, template_locations
):
    template_attach(
        template_id=template.pk, location_ids=[loc.pk for loc in template_locations], user_id=None
    )
    v1 = template.versions.get(number=1)
    template.rules = [EMAIL, PHONE, COMPANY]
    v2 = template_save(template=template, user_id=None)

    chosen = [template_locations[0].pk, template_locations[1].pk]
    rollout = rollout_start(template_id=template.pk, location_ids=chosen, user_id=None)
    on = {loc.pk: _mapping(loc).template_version_id for loc in template_locations}
    assert on == {
        template_locations[0].pk: v2.pk,
        template_locations[1].pk: v2.pk,
        template_locations[2].pk: v1.pk,
        template_locations[3].pk: v1.pk,
    }
    assert _mapping(template_locations[2]).rules == [EMAIL, PHONE]

    rollout_complete(rollout_id=rollout.pk, user_id=None)
    assert all(_mapping(loc).rules == [EMAIL, PHONE, COMPANY] for loc in template_locations)

    rollout_rollback(rollout_id=rollout.pk, user_id=None)
    for location in template_locations:
        mapping = _mapping(location)
        assert (mapping.template_version_id, mapping.rules) == (v1.pk, [EMAIL, PHONE])
        assert mapping_version_latest(mapping_id=mapping.pk).rules == [EMAIL, PHONE]
    template.refresh_from_db()
    assert template.rules == [EMAIL, PHONE]  # the template is back too, as version 3
    actions = list(
        AuditEvent.objects.filter(action__startswith="mapping_template.rollout")
        .order_by("at", "pk")
        .values_list("action", "detail")
    )
    assert [a for a, _ in actions] == [
        "mapping_template.rollout.staged",
        "mapping_template.rollout.completed",
        "mapping_template.rollout.rolled_back",
    ]
    assert sorted(actions[0][1]["location_ids"]) == sorted(chosen)
    assert sorted(actions[1][1]["location_ids"]) == sorted(loc.pk for loc in template_locations[2:])
    assert Rollout.objects.get().status == Rollout.Status.ROLLED_BACK


@pytest.mark.django_db
def test_a_second_rollout_waits_for_the_staged_one(template, template_locations):
    template_attach(template_id=template.pk, location_ids=[template_locations[0].pk], user_id=None)
    template.rules = [EMAIL]
    template_save(template=template, user_id=None)
    rollout_start(template_id=template.pk, location_ids=[template_locations[0].pk], user_id=None)
    with pytest.raises(ValidationError, match="still staged"):
        rollout_start(
            template_id=template.pk, location_ids=[template_locations[0].pk], user_id=None
        )


@pytest.mark.django_db
def test_the_preview_reapplies_both_versions_to_stored_payloads(template, template_locations):
    template_attach(
        template_id=template.pk,
        location_ids=[loc.pk for loc in template_locations[:2]],
        user_id=None,
    )
    version = mapping_version_latest(mapping_id=_mapping(template_locations[0]).pk)
    mapping_page_apply(
        mapping_version=version,
        location_id=template_locations[0].pk,
        records=[
            {"id": "c-1", "email": " a@x.io ", "phone": "415 555 2671", "companyName": "Acme"}
        ],
    )
    assert SourcePayload.objects.get().payload["companyName"] == "Acme"
    template.rules = [EMAIL, PHONE_GB, COMPANY]
    v2 = template_save(template=template, user_id=None)

    def fetch(**kwargs):
        raise RuntimeError("HighLevel is unreachable")

    report = {
        e["location"].pk: e
        for e in rollout_preview(
            template_id=template.pk,
            version_id=v2.pk,
            location_ids=[loc.pk for loc in template_locations[:2]],
            fetch=fetch,
        )
    }
    stored = report[template_locations[0].pk]
    assert stored["source"] == "stored" and stored["rules_changed"]
    assert stored["records"][0]["id"] == "c-1"
    assert ("company", "—", "Acme") in stored["records"][0]["changes"]
    phone = next(c for c in stored["records"][0]["changes"] if c[0] == "phone")
    assert phone[1] == "+14155552671" and phone[2] != phone[1]  # read as a GB number now
    assert stored["records"][0]["error"] == ""
    assert report[template_locations[1].pk]["source"] == "none"
    assert "HighLevel is unreachable" in report[template_locations[1].pk]["note"]
