"""One bad record never stops a location: a 20,000-contact backfill with one over-long name (the
Rankr column is varchar(200): PostgreSQL refuses it) and one value of a type the mapping cannot
convert ends with the 19,998 others in Rankr and the 2 quarantined with their reasons; changing
the mapping to truncate brings the 2 in without a new backfill.
"""

import copy

import pytest

from integrations.models import Job, Subscription
from integrations.sync.subscriptions import subscription_save
from integrations.sync.subscriptions.manage import subscription_run_now
from mappings.models import Mapping
from mappings.services import mapping_save
from rankr.models import Contact
from sandbox.models import Resource
from sandbox.state.seed import sandbox_seed
from tests.integrations.events.sandbox_world import COMPANY, LOCATION, events_sandbox  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TOTAL = 20_000
LONG_NAME = "Maximiliana " * 25  # 300 characters


@pytest.fixture
def world(events_sandbox, q_sync):  # noqa: F811
    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=TOTAL, users=0, seed=3)
    contacts = Resource.objects.filter(kind="contact", location_id=LOCATION).order_by("seq")
    assert contacts.count() == TOTAL
    # HighLevel answers what it holds: a name longer than Rankr's column, and a company that
    # came back as an object (a type change on HighLevel's side the mapping cannot convert).
    long_one, odd_one = contacts[7_000], contacts[13_000]
    long_one.data = {**long_one.data, "firstName": LONG_NAME}
    long_one.save(update_fields=["data"])
    odd_one.data = {**odd_one.data, "companyName": {"legal": "Acme Dental Ltd"}}
    odd_one.save(update_fields=["data"])
    events_sandbox.update(long_id=long_one.resource_id, odd_id=odd_one.resource_id)
    return events_sandbox


def test_a_backfill_quarantines_the_two_bad_contacts_and_a_mapping_change_brings_them_in(world):
    location = world["location"]
    mapping = Mapping.objects.get(location=location, template_key="ghl_contact_upsert")
    subscription = subscription_save(
        subscription=Subscription(
            location=location,
            connection=world["connection"],
            mapping=mapping,
            trigger="Search Contacts",
        ),
        user_id=None,
    )
    subscription_run_now(subscription_id=subscription.pk, user_id=None, backfill=True)

    jobs = Job.objects.filter(kind__in=["poll", "backfill"]).order_by("pk")
    assert {job.status for job in jobs} == {"succeeded"}, [
        (j.status, j.error_message) for j in jobs
    ]
    last = jobs.last()
    assert last.result["quarantined"] == 2 and last.result["records"] == TOTAL, last.result
    subscription.refresh_from_db()
    assert subscription.cursor == {} and subscription.backfill_finished_at is not None
    assert "2 record(s) quarantined" in subscription.last_run_error
    assert Contact.objects.filter(location=location).count() == TOTAL - 2

    from mappings.models import QuarantinedRecord  # (here: the check above runs on older code too)

    aside = {q.ghl_id: q for q in QuarantinedRecord.objects.filter(location=location)}
    assert set(aside) == {world["long_id"], world["odd_id"]}
    long_q, odd_q = aside[world["long_id"]], aside[world["odd_id"]]
    assert (long_q.rule_number, long_q.field, long_q.value) == (2, "first_name", LONG_NAME.strip())
    assert "at most 200" in long_q.reason and long_q.job_id in {job.pk for job in jobs}
    assert (odd_q.rule_number, odd_q.field) == (5, "company")
    assert "Acme Dental Ltd" in odd_q.value and "text" in odd_q.reason
    assert long_q.resolved_at is None and odd_q.resolved_at is None

    rules = copy.deepcopy(mapping.rules)
    for rule in rules:
        if rule["target"] in ("first_name", "company"):
            rule["invalid"] = "truncate"
    mapping.rules = rules
    backfills = jobs.count()
    mapping_save(mapping=mapping, user_id=None)  # retries the quarantined records after commit

    assert Contact.objects.filter(location=location).count() == TOTAL
    assert Job.objects.filter(kind__in=["poll", "backfill"]).count() == backfills  # no new backfill
    long_row = Contact.objects.get(location=location, ghl_id=world["long_id"])
    assert len(long_row.first_name) == 200 and long_row.first_name.endswith("…")
    odd_row = Contact.objects.get(location=location, ghl_id=world["odd_id"])
    assert odd_row.company == '{"legal": "Acme Dental Ltd"}'
    assert not QuarantinedRecord.objects.filter(resolved_at__isnull=True).exists()
