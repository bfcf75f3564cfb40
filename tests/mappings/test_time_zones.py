"""Naive HighLevel dates are read in the location's time zone unless a rule says otherwise."""

from datetime import UTC, datetime

import pytest

from mappings.models import Mapping
from mappings.rules import rules_apply
from mappings.services import mapping_apply, mapping_page_apply, mapping_save
from rankr.models import Task


def _apply(rules, record, time_zone):
    return rules_apply(
        entity_key="task",
        direction="ghl_to_rankr",
        null_policy="skip",
        rules=rules,
        record=record,
        time_zone=time_zone,
    )


DUE = [{"source": "dueDate", "target": "due_date", "transforms": [{"name": "datetime_parse"}]}]


def test_a_naive_date_is_read_in_the_locations_time_zone():
    values = _apply(DUE, {"dueDate": "2024-07-01T09:30:00"}, "America/New_York")
    assert values["due_date"] == datetime(2024, 7, 1, 13, 30, tzinfo=UTC)  # EDT is UTC-4


def test_winter_and_summer_offsets_both_hold():
    winter = _apply(DUE, {"dueDate": "2024-01-15T09:30:00"}, "Europe/Paris")["due_date"]
    summer = _apply(DUE, {"dueDate": "2024-07-15T09:30:00"}, "Europe/Paris")["due_date"]
    assert winter == datetime(2024, 1, 15, 8, 30, tzinfo=UTC)
    assert summer == datetime(2024, 7, 15, 7, 30, tzinfo=UTC)


def test_a_date_without_time_is_midnight_at_the_location():
    values = _apply(DUE, {"dueDate": "2024-03-01"}, "Asia/Tokyo")
    assert values["due_date"] == datetime(2024, 2, 29, 15, 0, tzinfo=UTC)


def test_an_aware_date_keeps_its_own_offset():
    values = _apply(DUE, {"dueDate": "2024-07-01T09:30:00Z"}, "America/New_York")
    assert values["due_date"] == datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


def test_epoch_milliseconds_are_absolute():
    values = _apply(DUE, {"dueDate": 1719826200000}, "Pacific/Auckland")
    assert values["due_date"] == datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


def test_a_rule_that_names_a_time_zone_wins_over_the_location():
    rules = [
        {
            "source": "dueDate",
            "target": "due_date",
            "transforms": [{"name": "datetime_parse", "args": {"assume_tz": "UTC"}}],
        }
    ]
    values = _apply(rules, {"dueDate": "2024-07-01T09:30:00"}, "America/New_York")
    assert values["due_date"] == datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


def test_formatting_a_naive_date_as_a_day_uses_the_location_too():
    rules = [
        {
            "source": "when",
            "target": "title",
            "transforms": [{"name": "datetime_format", "args": {"format": "epoch_ms"}}],
        }
    ]
    values = _apply(rules, {"when": "2024-07-01T00:00:00"}, "Asia/Kolkata")
    # The title is a text field: the number is stored as its digits.
    assert values["title"] == str(int(datetime(2024, 6, 30, 18, 30, tzinfo=UTC).timestamp() * 1000))


def test_without_a_time_zone_naive_dates_stay_utc():
    assert _apply(DUE, {"dueDate": "2024-07-01T09:30:00"}, None)["due_date"] == datetime(
        2024, 7, 1, 9, 30, tzinfo=UTC
    )


@pytest.mark.django_db
def test_the_sync_reads_naive_dates_in_the_mappings_location(location):
    location.time_zone = "Australia/Sydney"
    location.save()
    mapping = Mapping(
        location=location, name="Tasks", entity="task", direction="ghl_to_rankr", rules=DUE
    )
    version = mapping_save(mapping=mapping, user_id=None)
    assert mapping_apply(mapping_version=version, record={"dueDate": "2024-07-01T10:00:00"}) == {
        "due_date": datetime(2024, 7, 1, 0, 0, tzinfo=UTC)
    }
    mapping_page_apply(
        mapping_version=version,
        location_id=location.pk,
        records=[{"id": "t-1", "dueDate": "2024-07-01T10:00:00"}],
    )
    assert Task.objects.get(ghl_id="t-1").due_date == datetime(2024, 7, 1, 0, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_location_with_a_broken_time_zone_fails_the_rule_saying_so(location):
    location.time_zone = "Mars/Olympus"
    location.save()
    mapping = Mapping(
        location=location, name="Tasks", entity="task", direction="ghl_to_rankr", rules=DUE
    )
    version = mapping_save(mapping=mapping, user_id=None)
    result = mapping_page_apply(
        mapping_version=version,
        location_id=location.pk,
        records=[{"id": "t-1", "dueDate": "2024-07-01T10:00:00"}],
    )
    # The record is set aside (quarantined) with the reason; the rest of the sync goes on.
    from mappings.models import QuarantinedRecord

    assert result.quarantined == 1
    aside = QuarantinedRecord.objects.get(location=location, ghl_id="t-1")
    assert "time zone 'Mars/Olympus' is not an IANA time zone" in aside.reason
