"""Creates that cannot double: 30 % of the sandbox's answers are dropped *after* it stored the
record (its ``dropRate`` fault), every failed job is re-run, and each record exists once.

The portal and the sandbox meet over real HTTP (live server); jobs run inline (``q_sync``), and
the test plays the worker for the retries the jobs schedule and support's *Re-run* for the rest.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from integrations.catalog.connections import connection_info
from integrations.catalog.registry import operation_get
from integrations.models import Job
from integrations.sync.jobs import job_rerun, job_run
from integrations.sync.rankr_events import rankr_lead_create, rankr_user_create
from integrations.sync.runs import operation_try
from mappings.services import mapping_template_apply
from rankr.models import Contact, RankrUser
from sandbox.access.services.faults import fault_rule_set, fault_rules_clear
from sandbox.models import Resource
from tests.integrations.events.sandbox_world import LOCATION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DROP = {"seed": 12, "drop_rate": 0.3}
COUNT = 200


@pytest.fixture
def world(events_sandbox, q_sync, settings):
    settings.GHL_BACKOFF_BASE = 0.005  # the door's own retries of safe requests: no long sleeps
    settings.GHL_BACKOFF_CAP = 0.02
    return events_sandbox


def settle_jobs(jobs, *, rounds=40):
    """Run scheduled retries and re-run failed jobs until every one has succeeded."""
    ids = [job.pk for job in jobs]
    for _ in range(rounds):
        pending = Job.objects.filter(pk__in=ids).exclude(status=Job.Status.SUCCEEDED)
        if not pending.exists():
            return
        job_rerun(
            job_ids=list(
                pending.filter(status__in=["failed", "dead"]).values_list("pk", flat=True)
            ),
            user_id=None,
        )
        Job.objects.filter(pk__in=ids, status=Job.Status.QUEUED).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        for job_id in pending.filter(status=Job.Status.QUEUED).values_list("pk", flat=True):
            job_run(job_id=job_id)
    stuck = Job.objects.filter(pk__in=ids).exclude(status=Job.Status.SUCCEEDED)
    raise AssertionError([(j.pk, j.status, j.error_message) for j in stuck[:5]])


def copies_by_email(kind):
    rows = Resource.objects.filter(kind=kind, location_id=LOCATION, deleted=False).values_list(
        "email", flat=True
    )
    counts = {}
    for email in rows:
        counts[email] = counts.get(email, 0) + 1
    return counts


def test_200_rankr_users_under_dropped_answers_each_exist_once_in_highlevel(world):
    location = world["location"]
    fault_rule_set(location_id=LOCATION, values=DROP)
    users = [
        rankr_user_create(
            location_id=location.pk,
            email=f"staff{n:03d}@northside.test",
            full_name=f"Staff Member{n:03d}",
            role="user",
        )
        for n in range(COUNT)
    ]
    jobs = list(Job.objects.filter(kind="rankr_event", params__event="user_create"))
    assert len(jobs) == COUNT
    lost = Job.objects.filter(pk__in=[j.pk for j in jobs], error_class="GhlOutcomeUnknown").count()
    settle_jobs(jobs)
    fault_rules_clear(location_id=LOCATION)

    copies = copies_by_email("user")
    wanted = {f"staff{n:03d}@northside.test" for n in range(COUNT)}
    assert {email: n for email, n in copies.items() if email in wanted and n != 1} == {}
    assert wanted <= set(copies)
    for user in RankrUser.objects.filter(pk__in=[u.pk for u in users]):
        assert Resource.objects.get(kind="user", resource_id=user.ghl_id).email == user.email
    assert lost > 20, "the fault did not drop enough creates to test anything"


def test_200_rankr_leads_under_dropped_answers_each_exist_once_in_highlevel(world):
    location = world["location"]
    mapping_template_apply(template_key="rankr_lead_create", location_id=location.pk, user_id=None)
    fault_rule_set(location_id=LOCATION, values=DROP)
    leads = [
        rankr_lead_create(
            location_id=location.pk,
            values={
                "email": f"lead{n:03d}@walkin.test",
                "first_name": "Lead",
                "last_name": f"Number{n:03d}",
            },
        )
        for n in range(COUNT)
    ]
    jobs = list(Job.objects.filter(kind="rankr_event", params__event="lead_create"))
    assert len(jobs) == COUNT
    settle_jobs(jobs)
    fault_rules_clear(location_id=LOCATION)

    copies = copies_by_email("contact")
    wanted = {f"lead{n:03d}@walkin.test" for n in range(COUNT)}
    assert {email: n for email, n in copies.items() if email in wanted and n != 1} == {}
    assert wanted <= set(copies)
    for lead in Contact.objects.filter(pk__in=[x.pk for x in leads]):
        assert Resource.objects.get(kind="contact", resource_id=lead.ghl_id).email == lead.email


def run_due(job_ids):
    """Play the worker: run every queued job now (retries the jobs scheduled themselves)."""
    Job.objects.filter(pk__in=job_ids, status=Job.Status.QUEUED).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    for job_id in Job.objects.filter(pk__in=job_ids, status=Job.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        job_run(job_id=job_id)


def test_run_action_creates_under_dropped_answers_each_exist_once_in_highlevel(world):
    """Create User from *Run action*: its body holds a password (never stored), so a lost answer
    is resolved by the job's look-up, and a person runs again only what the look-up proved absent."""
    root = User.objects.create_superuser("root", password="x")
    info = connection_info(world["connection"])
    operation = operation_get("POST /users/")
    bodies = {
        f"run{n:02d}@northside.test": {
            "companyId": "demo-company-0001",
            "firstName": "Run",
            "lastName": f"Action{n:02d}",
            "email": f"run{n:02d}@northside.test",
            "password": "Sandbox-pass-1!",
            "type": "account",
            "role": "user",
            "locationIds": [LOCATION],
        }
        for n in range(60)
    }
    fault_rule_set(location_id=LOCATION, values=DROP)
    to_run, handled, lost = list(bodies), set(), 0
    for _ in range(30):
        for email in to_run:
            answer = operation_try(
                user=root, operation=operation, connection=info, body=bodies[email], dry_run=False
            )
            assert not answer.field_errors, answer.field_errors
            lost += "answer was lost" in answer.error
        jobs = Job.objects.filter(kind="action", operation="POST /users/")
        run_due(list(jobs.values_list("pk", flat=True)))
        absent = jobs.filter(status="failed", error_message__contains="run it again").exclude(
            pk__in=handled
        )
        handled |= set(absent.values_list("pk", flat=True))
        to_run = [job.params["body"]["email"] for job in absent]
        if not to_run and not jobs.filter(status="queued").exists():
            break
    fault_rules_clear(location_id=LOCATION)

    copies = copies_by_email("user")
    assert {email: copies.get(email, 0) for email in bodies if copies.get(email, 0) != 1} == {}
    assert lost > 5, "the fault did not drop enough creates to test anything"
    adopted = Job.objects.filter(kind="action", result__adopted=True).count()
    assert adopted > 0  # answers lost after the store: those were found, not created again
