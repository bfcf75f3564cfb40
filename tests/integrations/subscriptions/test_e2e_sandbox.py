"""End to end: the sandbox over HTTP (gunicorn), a real django-q2 cluster (``manage.py qcluster``)
against the test database (ORM broker; Redis when REDIS_URL is set), the dispatcher and the tick.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests
from django.core.management import call_command

from integrations.interfaces.tasks import tick_task
from integrations.models import Connection, HighLevelApp, Job, Subscription, SyncLog
from integrations.sync.subscriptions import subscription_save, subscriptions_dispatch
from mappings.services import mapping_template_apply
from portal.models import Agency, Location
from rankr.models import Contact
from tests.integrations.childproc import ROOT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
COMPANY, LOCATION = "e2e-company", "e2e-loc-0001"
SCOPES = ["contacts.readonly", "contacts.write"]
UNLIMITED = "100000000"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    def __init__(self, args, env):
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self):
        self.log.seek(0)
        return self.log.read()[-4000:]

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)  # the cluster and its worker processes
            self.proc.wait(30)

    def stop(self):
        """SIGTERM to the leader only, as a process manager should send it: a qcluster whose
        workers get the signal too hangs in its stop (django-q2 issue #346) until killed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever the leader left behind
        except ProcessLookupError:
            pass
        self.proc.wait(30)


@pytest.fixture
def stack_env():
    """Extra environment for the stack's processes (a test module may override it)."""
    return {}


@pytest.fixture
def stack(monkeypatch, stack_env):
    """Starts the sandbox; ``stack.worker()`` starts a qcluster. All stopped at the end."""
    from django_q.conf import Conf

    port = free_port()
    cluster = f"e2e{uuid.uuid4().hex[:8]}"  # our own queue, even on a shared Redis
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster)
    monkeypatch.setattr(Conf, "PREFIX", cluster)  # payloads are signed with it
    env = child_env(
        SANDBOX_ENABLED="true",
        SANDBOX_BASE_URL=f"http://127.0.0.1:{port}/sandbox",
        SANDBOX_RATE_BURST=UNLIMITED,
        SANDBOX_RATE_DAILY=UNLIMITED,
        GHL_RATE_LIMIT_BURST=UNLIMITED,
        GHL_RATE_LIMIT_DAILY=UNLIMITED,
        Q_CLUSTER_NAME=cluster,
        Q_TIMEOUT=20,
        Q_WORKERS=2,
        LOG_LEVEL="WARNING",
    )
    env.update({k: str(v) for k, v in stack_env.items()})
    children = []

    class Stack:
        base = f"http://127.0.0.1:{port}/sandbox"

        def worker(self):
            child = Child([sys.executable, "manage.py", "qcluster"], env)
            children.append(child)
            return child

        def dispatcher(self, every):
            child = Child(
                [sys.executable, "manage.py", "dispatch", "--loop", "--every", str(every)], env
            )
            children.append(child)
            return child

    sandbox = Child(
        [
            str(ROOT / ".venv/bin/gunicorn")
            if (ROOT / ".venv/bin/gunicorn").exists()
            else str(os.path.join(os.path.dirname(sys.executable), "gunicorn")),
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        env,
    )
    children.append(sandbox)
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(Stack.base + "/api/contacts/", timeout=30)
            break
        except requests.RequestException:
            assert sandbox.proc.poll() is None, sandbox.output()
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.3)
    yield Stack()
    for child in reversed(children):
        child.stop()
        print(" ".join(child.proc.args[:3]), child.output(), sep="\n")  # shown when a test fails


@pytest.fixture
def subscription(db):
    from sandbox.access.services.registry import private_token_create

    call_command(
        "sandbox_seed",
        locations=1,
        contacts=0,
        users=0,
        prefix="e2e-loc-",
        company=COMPANY,
        stdout=open(os.devnull, "w"),
    )
    agency = Agency.objects.create(name="E2E agency", company_id=COMPANY)
    location = Location.objects.create(agency=agency, location_id=LOCATION, name="E2E location")
    app = HighLevelApp(
        name="E2E app",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="e2e-client",
        redirect_url="http://127.0.0.1/callback/",
    )
    app.client_secret = "e2e-secret"
    app.save()
    connection = Connection(
        app=app,
        agency=agency,
        location=location,
        kind=Connection.Kind.LOCATION,
        auth_type=Connection.AuthType.PRIVATE,
        scopes=" ".join(SCOPES),
    )
    connection.access_token = private_token_create(location_id=LOCATION, scopes=SCOPES).value
    connection.save()
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    return subscription_save(
        subscription=Subscription(
            location=location,
            connection=connection,
            mapping=mapping,
            trigger="Search Contacts",
        ),
        user_id=None,
    )


def seed_contacts(count):
    from sandbox.state.seed import sandbox_seed

    sandbox_seed(company_id=COMPANY, location_ids=[LOCATION], contacts=count, users=0, seed=7)


def sandbox_contacts():
    from sandbox.models import Resource

    rows = Resource.objects.filter(kind="contact", location_id=LOCATION, deleted=False)
    return {r.resource_id: (r.data.get("email") or "").strip().lower() for r in rows}


def rankr_contacts(location_id):
    rows = Contact.objects.filter(location_id=location_id, deleted_at__isnull=True)
    return {c.ghl_id: c.email for c in rows}


def wait_for(condition, *, timeout, tick=True, what=""):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if tick:
            tick_task()  # what the "portal tick" schedule does each minute
        time.sleep(1)


def test_a_location_is_backfilled_by_the_worker(stack, subscription):
    seed_contacts(750)
    stack.worker()
    assert subscriptions_dispatch() == 1
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).backfill_finished_at,
        timeout=120,
        what="the backfill",
    )
    subscription.refresh_from_db()
    assert rankr_contacts(subscription.location_id) == sandbox_contacts()
    assert (subscription.backfill_records, subscription.backfill_pages) == (750, 8)
    assert subscription.last_run_outcome == Subscription.Outcome.SUCCEEDED


def test_a_worker_killed_mid_backfill_resumes_from_its_checkpoint(stack, subscription):
    from sandbox.models import Resource
    from sandbox.state import store

    seed_contacts(20_000)
    worker = stack.worker()
    assert subscriptions_dispatch() == 1
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).backfill_pages >= 40,
        timeout=300,
        tick=False,
        what="40 pages",
    )
    worker.kill()  # SIGKILL, cluster and workers
    subscription.refresh_from_db()
    killed_at = subscription.backfill_pages
    assert subscription.backfill_finished_at is None and subscription.cursor
    # Meanwhile HighLevel changes: a contact the pass has not reached yet is deleted, one it has
    # already stored is edited.
    contacts = Resource.objects.filter(kind="contact", location_id=LOCATION).order_by("seq")
    store.resource_delete(res=contacts.last())
    edited = Contact.objects.filter(location_id=subscription.location_id).earliest("pk").ghl_id
    store.resource_update(
        res=Resource.objects.get(kind="contact", resource_id=edited),
        changes={"email": "changed-after-sync@example.com"},
    )
    stack.worker()
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).backfill_finished_at,
        timeout=600,
        what="the resumed backfill",
    )
    subscription.refresh_from_db()
    # One pass, every page applied exactly once (the counters move in the pages' transactions):
    # 19,999 contacts (one was deleted ahead of the pass): 199 full pages and one of 99.
    assert subscription.backfill_pages == 200 and subscription.backfill_records == 19_999
    assert killed_at < 200
    # The killed job was recovered (its lease passed) and it, or the jobs it handed over to,
    # finished the pass: every job of the subscription succeeded.
    jobs = Job.objects.filter(subject=f"subscription {subscription.pk}")
    assert set(jobs.values_list("status", flat=True)) == {Job.Status.SUCCEEDED}
    # The next poll picks up the edit the pass had already gone past.
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=None)
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).last_run_at > subscription.last_run_at,
        timeout=120,
        what="the next poll",
    )
    expected = sandbox_contacts()
    assert len(expected) == 19_999
    assert rankr_contacts(subscription.location_id) == expected
    assert Contact.objects.filter(location_id=subscription.location_id).count() == 19_999
    assert Contact.objects.get(ghl_id=edited).email == "changed-after-sync@example.com"


LEASE_S, HEARTBEAT_S, TICK_S = 10, 3, 2


@pytest.mark.parametrize(
    "stack_env", [{"Q_TIMEOUT": 600, "JOB_LEASE_S": LEASE_S, "JOB_HEARTBEAT_S": HEARTBEAT_S}]
)
def test_a_killed_worker_s_job_resumes_from_its_checkpoint_within_lease_and_a_tick(
    stack, subscription
):
    """A real ``qcluster`` SIGKILLed mid-backfill, with the task timeout at its default (600 s):
    the job is taken up again within its lease plus one dispatcher tick, from its checkpoint,
    with a *worker lost* attempt on record."""
    seed_contacts(3950)
    worker = stack.worker()
    stack.dispatcher(every=TICK_S)  # the Procfile's dispatcher: the tick, every few seconds
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).backfill_pages >= 6,
        timeout=300,
        tick=False,
        what="6 pages",
    )
    job = Job.objects.get(pk=Subscription.objects.get(pk=subscription.pk).claimed_job_id)
    worker.kill()  # SIGKILL to the cluster's process group, mid-page
    killed_at = time.time()
    pages_before = Subscription.objects.get(pk=subscription.pk).backfill_pages
    assert Job.objects.get(pk=job.pk).status == "running"
    stack.worker()
    wait_for(
        lambda: job.attempt_rows.count() == 2, timeout=120, tick=False, what="the job taken up"
    )
    first, second = job.attempt_rows.order_by("number")
    recovery_s = second.started_at.timestamp() - killed_at
    print(f"recovery_s: {recovery_s:.1f}")
    # The lease was renewed at most a heartbeat before the kill; one tick later it is seen passed.
    assert recovery_s <= LEASE_S + TICK_S + 3, recovery_s
    assert first.outcome == "worker_lost" and first.ended_at and first.error_class == "WorkerLost"
    wait_for(
        lambda: Subscription.objects.get(pk=subscription.pk).backfill_finished_at,
        timeout=300,
        tick=False,
        what="the resumed backfill",
    )
    sub = Subscription.objects.get(pk=subscription.pk)
    # Every page applied once (counters move in the pages' transactions): 39 of 100 and one of 50.
    assert (sub.backfill_pages, sub.backfill_records) == (40, 3950)
    assert rankr_contacts(sub.location_id) == sandbox_contacts()
    second.refresh_from_db()
    job.refresh_from_db()
    assert second.outcome == "succeeded" and job.status == "succeeded"
    # The second attempt resumed from the checkpoint: it fetched only the pages left (plus at most
    # the one the kill interrupted), and its calls are on record under it.
    fetched = SyncLog.objects.filter(job_id=job.pk, job_attempt_id=second.pk).count()
    assert 40 - pages_before <= fetched <= 40 - pages_before + 1, (fetched, pages_before)
