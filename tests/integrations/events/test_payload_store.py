"""The raw payload store: one row per record, replaced on change, gone with the record, and a
mapping re-applied to it without one HighLevel request."""

import pytest
import responses

from integrations.interfaces.tasks import payloads_reapply_task
from integrations.models import SyncLog
from integrations.sync.inbound import NoMapping, record_remove
from integrations.sync.payloads import payloads_reapply
from mappings.entities import GHL_TO_RANKR
from mappings.models import SourcePayload
from mappings.services import mapping_page_apply, mapping_save, mapping_version_latest
from rankr.models import Contact
from tests.integrations.events.test_webhooks import CONTACT, event_make, process

pytestmark = pytest.mark.django_db

ADA = {k: v for k, v in CONTACT.items() if k != "type"} | {"dateUpdated": "2026-01-01T00:00:00Z"}


def poll(location, mapping, *records):
    """A polled page, through the path a poll run takes."""
    return mapping_page_apply(
        mapping_version=mapping_version_latest(mapping_id=mapping.pk),
        location_id=location.pk,
        records=list(records),
        source="poll",
    )


def test_one_row_per_record_replaced_only_when_it_changes(location, templates):
    mapping = templates["ghl_contact_upsert"]
    poll(location, mapping, ADA, {**ADA, "id": "c-2", "email": "b@example.com"})
    first = SourcePayload.objects.get(location=location, entity="contact", ghl_id="c-1")
    assert SourcePayload.objects.count() == 2 and first.fingerprint
    poll(location, mapping, ADA)  # unchanged: not written again
    assert SourcePayload.objects.get(pk=first.pk).seen_at == first.seen_at
    changed = {**ADA, "companyName": "Analytical Engines", "dateUpdated": "2026-01-02T00:00:00Z"}
    poll(location, mapping, changed)
    row = SourcePayload.objects.get(location=location, entity="contact", ghl_id="c-1")
    assert SourcePayload.objects.count() == 2
    assert (row.pk, row.payload["companyName"]) == (first.pk, "Analytical Engines")
    assert row.fingerprint != first.fingerprint and row.seen_at > first.seen_at


def test_a_webhook_record_is_stored_and_its_deletion_removes_it(location, templates):
    process(event_make(location, CONTACT))
    assert SourcePayload.objects.get(ghl_id="c-1").payload["companyName"] == "Engines"
    process(event_make(location, {**CONTACT, "type": "ContactDelete"}, "wh-2"))
    assert not SourcePayload.objects.filter(ghl_id="c-1").exists()


def test_a_stale_deletion_keeps_the_live_records_payload(location, templates):
    poll(location, templates["ghl_contact_upsert"], ADA)
    assert (
        record_remove(
            location_id=location.pk,
            entity="contact",
            ghl_id="c-1",
            deleted_at="2025-12-31T00:00:00Z",
        )
        is False
    )
    assert Contact.objects.get(ghl_id="c-1").deleted_at is None
    assert SourcePayload.objects.filter(ghl_id="c-1").exists()


def _rules_upper_company(mapping):
    rules = [dict(r) for r in mapping.rules]
    for r in rules:
        if r["target"] == "company":
            r["transforms"] = [{"name": "trim"}, {"name": "upper"}]
    mapping.rules = rules
    return mapping


def test_a_new_mapping_version_is_reapplied_from_the_store_without_a_request(
    location, templates, connection, django_capture_on_commit_callbacks, monkeypatch
):
    mapping = templates["ghl_contact_upsert"]
    poll(location, mapping, ADA, {**ADA, "id": "c-2", "email": "b@example.com"})
    assert Contact.objects.get(ghl_id="c-1").company == "Engines"
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        mapping_save(mapping=_rules_upper_company(mapping), user_id=None)
    assert queued == [("integrations.interfaces.tasks.payloads_reapply_task", mapping.pk)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as nothing_answers:
        payloads_reapply_task(*queued[0][1:])  # any HTTP request would raise here
        assert len(nothing_answers.calls) == 0
    assert SyncLog.objects.count() == 0
    assert set(Contact.objects.values_list("company", flat=True)) == {"ENGINES"}


def test_reapply_counts_and_refuses_without_a_mapping(location, templates, other_location):
    mapping = templates["ghl_contact_upsert"]
    poll(location, mapping, ADA)
    mapping_save(mapping=_rules_upper_company(mapping), user_id=None)
    result = payloads_reapply(location_id=location.pk, entity="contact")
    assert (result["payloads"], result["updated"]) == (1, 1)
    assert payloads_reapply(location_id=location.pk, entity="contact")["unchanged"] == 1
    with pytest.raises(NoMapping):
        payloads_reapply(location_id=other_location.pk, entity="contact")
    assert mapping.direction == GHL_TO_RANKR
