"""The fault matrix: the whole stack as separate processes, one fault at a time, invariants checked.

Starts the sandbox (gunicorn), the portal's web (gunicorn), a worker (``manage.py qcluster``) and
the dispatcher (``manage.py dispatch --loop --every 5``, the Procfile's lines) on a throw-away
database: SQLite + the ORM broker by default, or a database of its own on the PostgreSQL server
of ``--postgres URL`` (created and dropped here) with a Redis server of its own on a free port
(``--redis URL`` turns Redis mode on; the URL's server is never touched: its data is not ours).
Each scenario seeds its own sandbox location(s), injects its fault, waits (bounded in time and
requests) for the portal to recover, then compares the sandbox's state, read over HTTP through
the sandbox's API, with Rankr's tables and the job, attempt and sync-log records.

Prints per scenario ``scenario_<name>: held|broken|not_run`` and ``recovery_s_<name>`` (from the
end of the fault to the invariant holding again), then ``violations`` (scenarios broken) and
``max_recovery_s``. ``not_run`` names a scenario this harness does not run (in this mode, or at
all yet) and is never counted as held.

Run: .venv/bin/python bench/fault_matrix.py [--quick] [--seed N] [--only name,name]
     [--postgres postgres://user@host:5432/any --redis redis://host:6379/0]
"""

import argparse
import base64
import itertools
import json
import math
import os
import random
import signal
import socket
import string
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sync_world import (
    UNLIMITED,
    BenchEnvironment,
    Sandbox,
    dispatcher,
    free_port,
    process_group_stats,
    qcluster,
)

COMPANY = "fm-company"
CLIENT_ID, CLIENT_SECRET = "fm-client", "fm-secret"
REDIRECT = "http://127.0.0.1/callback/"
SCOPES = ["contacts.readonly", "contacts.write"]
TICK_S = 5  # the Procfile's dispatcher
VERSION = {"Version": "2021-07-28"}

# Every scenario of the issue; the ones with no function below print not_run. Run in this order:
# the restore first, while the database holds only its own data (restoring what the others left,
# 20,000 contacts and their logs, through loaddata took 50 s of the short form's five minutes).
SCENARIOS = [
    "restore_backup",
    "worker_kill",
    "sandbox_faults",
    "webhooks",
    "broker_lost",
    "all_killed",
    "creates_dropped",
    "two_hosts",
    "disk_full",
    "fuzz",
]
NOT_RUN = {}


@dataclass
class Outcome:
    held: bool
    recovery_s: float = 0.0
    notes: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)


class Broken(Exception):
    """An invariant did not hold (or did not hold in time)."""


def check(condition, message):
    if not condition:
        raise Broken(message)


def wait_until(condition, *, timeout, what, every=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Broken(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class SandboxApi:
    """The sandbox over HTTP, as HighLevel's own API and its control endpoint."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()

    def call(self, method, path, *, token, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **VERSION}
        return self.session.request(
            method, self.base + "/services" + path, headers=headers, timeout=60, **kwargs
        )

    def contacts(self, *, location_id, token):
        """Every live contact of the location: {id: contact}, paged as HighLevel pages."""
        found, after = {}, ""
        for _ in range(2000):  # bounded: 200,000 contacts
            params = {"locationId": location_id, "limit": 100}
            if after:
                params["startAfterId"] = after
            answer = self.call("GET", "/contacts/", token=token, params=params)
            if answer.status_code != 200:
                raise Broken(f"sandbox listing answered {answer.status_code}: {answer.text[:200]}")
            page = answer.json().get("contacts", [])
            for contact in page:
                found[contact["id"]] = contact
            if len(page) < 100:
                return found
            after = page[-1]["id"]
        raise Broken("sandbox listing did not end")

    def faults(self, **rule):
        answer = self.session.post(self.base + "/control/faults", json=rule, timeout=30)
        if answer.status_code != 200:
            raise Broken(f"fault rule refused: {answer.status_code} {answer.text[:200]}")

    def faults_clear(self, location_id=None):
        params = {"locationId": location_id} if location_id is not None else {}
        self.session.delete(self.base + "/control/faults", params=params, timeout=30)


class Stack:
    """The Procfile's processes: sandbox, web, worker(s), dispatcher(s)."""

    def __init__(self, env, *, workers=2):
        self.env = env
        self.workers_per = workers
        self.sandbox = Sandbox(port=env.port, workers=2, threads=4)
        self.api = SandboxApi(self.sandbox.base)
        self.web_port = free_port()
        self.web = None
        self.worker = None
        self.dispatcher = None
        self.web_start()
        self.worker_start()
        self.dispatcher_start()

    @property
    def web_root(self):
        return f"http://127.0.0.1:{self.web_port}"

    def web_start(self):
        self.web = Sandbox(
            port=self.web_port,
            workers=2,
            threads=4,
            name="web",
            path="/integrations/webhooks/highlevel/",
        )

    def worker_start(self):
        self.worker = qcluster(workers=self.workers_per)

    def dispatcher_start(self):
        self.dispatcher = dispatcher(every=TICK_S)

    def stop(self):
        for proc in (self.dispatcher, self.worker, self.web, self.sandbox):
            if proc is not None:
                proc.stop()


class World:
    """Sandbox company and locations on one side, the portal's agency, app, locations,
    connections, mappings and subscriptions on the other."""

    def __init__(self, stack):
        from integrations.models import HighLevelApp
        from portal.models import Agency
        from sandbox.access.services.registry import sandbox_app_register, sandbox_company_ensure

        self.stack = stack
        self.company = sandbox_company_ensure(company_id=COMPANY, name="Fault agency", locations=[])
        self.sandbox_app = sandbox_app_register(
            name="Fault matrix",
            redirect_uris=[REDIRECT],
            scopes=SCOPES,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        ).app
        self.agency = Agency.objects.create(company_id=COMPANY, name="Fault agency")
        app = HighLevelApp(
            name="Fault app",
            mode=HighLevelApp.Mode.SANDBOX,
            client_id=CLIENT_ID,
            redirect_url=REDIRECT,
        )
        app.client_secret = CLIENT_SECRET
        app.save()
        self.app = app
        self.tokens = {}  # location id -> a private token the harness reads the sandbox with
        self.scopes = {}

    def location(
        self,
        location_id,
        *,
        contacts=0,
        seed=0,
        oauth=False,
        subscribe=True,
        scopes=SCOPES,
        company=COMPANY,
    ):
        """A seeded sandbox location and its portal twin. Returns the portal's Location; with
        ``subscribe`` its contact subscription is created (the dispatcher then backfills it)."""
        from integrations.models import Connection
        from mappings.services import mapping_template_apply
        from portal.models import Agency, Location
        from sandbox.access.services.registry import private_token_create, sandbox_company_ensure
        from sandbox.state.seed import sandbox_seed

        sandbox_company_ensure(
            company_id=company,
            name=company,
            locations=[{"location_id": location_id, "name": location_id}],
        )
        agency = Agency.objects.get_or_create(company_id=company, defaults={"name": company})[0]
        if contacts:
            sandbox_seed(
                company_id=company,
                location_ids=[location_id],
                contacts=contacts,
                users=0,
                seed=seed,
            )
        self.scopes[location_id] = scopes
        self.tokens[location_id] = private_token_create(
            location_id=location_id, scopes=scopes
        ).value
        location = Location.objects.create(agency=agency, location_id=location_id, name=location_id)
        connection = Connection(
            app=self.app,
            agency=agency,
            location=location,
            kind=Connection.Kind.LOCATION,
            scopes=" ".join(scopes),
        )
        if oauth:
            self.oauth_tokens(connection, location_id, company=company)
        else:
            connection.auth_type = Connection.AuthType.PRIVATE
            connection.access_token = private_token_create(
                location_id=location_id, scopes=scopes
            ).value
        connection.save()
        location.connection = connection
        mapping, _ = mapping_template_apply(
            template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
        )
        location.mapping = mapping
        if subscribe:
            location.subscription = self.subscribe(location)
        return location

    def oauth_tokens(self, connection, location_id, company=COMPANY):
        """The consent a location's admin gives (the code is issued as the consent page would),
        exchanged over HTTP at the sandbox's token endpoint, as the portal's callback does."""
        from django.utils import timezone

        from integrations.models import Connection
        from sandbox.access.models import SandboxCompany
        from sandbox.access.services.oauth import authorization_code_issue

        code = authorization_code_issue(
            app=self.sandbox_app,
            company=SandboxCompany.objects.get(company_id=company),
            location_ids=[location_id],
            agency_chosen=False,
            redirect_uri=REDIRECT,
            scopes=SCOPES,
        )
        answer = requests.post(
            self.stack.sandbox.base + "/services/oauth/token",
            data={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "user_type": "Location",
                "redirect_uri": REDIRECT,
            },
            timeout=30,
        )
        answer.raise_for_status()
        grant = answer.json()
        connection.auth_type = Connection.AuthType.OAUTH
        connection.access_token = grant["access_token"]
        connection.refresh_token = grant["refresh_token"]
        connection.token_expires_at = timezone.now() + timedelta(seconds=grant["expires_in"])
        connection.status = Connection.Status.ACTIVE

    def subscribe(self, location):
        from integrations.models import Subscription
        from integrations.sync.subscriptions import subscription_save

        return subscription_save(
            subscription=Subscription(
                location=location,
                connection=location.connection,
                mapping=location.mapping,
                trigger="Search Contacts",
            ),
            user_id=None,
        )

    def sandbox_contacts(self, location_id):
        from sandbox.access.services.registry import private_token_create

        try:
            return self.stack.api.contacts(location_id=location_id, token=self.tokens[location_id])
        except Broken:  # "expire tokens now" expired the harness's reading token too
            token = private_token_create(
                location_id=location_id, scopes=self.scopes[location_id]
            ).value
            self.tokens[location_id] = token
            return self.stack.api.contacts(location_id=location_id, token=token)


def rankr_contacts(location):
    from rankr.models import Contact

    rows = Contact.objects.filter(location=location, deleted_at__isnull=True)
    return {c.ghl_id: c for c in rows}


def equal_contacts(world, location, *, fields=("email",)):
    """Rankr's live contacts of ``location`` against the sandbox's, field by field. Returns a list
    of differences (empty when equal); also counts duplicates of one HighLevel id."""
    from django.db.models import Count

    from rankr.models import Contact

    theirs = world.sandbox_contacts(location.location_id)
    ours = rankr_contacts(location)
    problems = []
    missing = set(theirs) - set(ours)
    extra = set(ours) - set(theirs)
    if missing:
        problems.append(f"{len(missing)} missing in Rankr (e.g. {sorted(missing)[0]})")
    if extra:
        problems.append(f"{len(extra)} in Rankr not in the sandbox (e.g. {sorted(extra)[0]})")
    names = {"email": "email", "first_name": "firstName", "last_name": "lastName"}
    for ghl_id in set(theirs) & set(ours):
        for name in fields:
            want = (theirs[ghl_id].get(names[name]) or "").strip()
            have = (getattr(ours[ghl_id], name) or "").strip()
            if name == "email":
                want, have = want.lower(), have.lower()
            if want != have:
                problems.append(f"{ghl_id}.{name}: {have!r} != {want!r}")
                break
        if len(problems) > 5:
            break
    doubled = (
        Contact.objects.filter(location=location)
        .values("ghl_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if doubled:
        problems.append(f"{doubled} HighLevel ids stored twice")
    return problems


def subscription_jobs(subscription):
    from integrations.models import Job

    return Job.objects.filter(subject=f"subscription {subscription.pk}")


def backfill_done(subscription):
    """The subscription once its backfill finished and its jobs recorded their outcomes (a job
    records its own just after the pass's last write)."""
    from integrations.models import Job, Subscription

    sub = Subscription.objects.get(pk=subscription.pk)
    busy = subscription_jobs(sub).filter(
        kind=Job.Kind.BACKFILL, status__in=(Job.Status.QUEUED, Job.Status.RUNNING)
    )
    return sub if sub.backfill_finished_at and not busy.exists() else None


def attempts_after(subscription, moment):
    """Attempts of the subscription's jobs that started after ``moment`` (epoch s)."""
    from integrations.models import JobAttempt

    since = datetime.fromtimestamp(moment, tz=UTC)
    return JobAttempt.objects.filter(
        job__subject=f"subscription {subscription.pk}", started_at__gt=since
    )


def backfill_invariant(world, location, contacts, *, failed_jobs=0):
    """A finished backfill: one pass, every page applied once, every job ended well, Rankr equal
    to the sandbox."""
    from integrations.models import Job

    sub = backfill_done(location.subscription)
    check(sub is not None, "the backfill did not finish")
    pages = max(1, math.ceil(contacts / 100))
    check(
        sub.backfill_records == contacts and sub.backfill_pages in (pages, pages + 1),
        f"backfill counted {sub.backfill_records} records in {sub.backfill_pages} pages, "
        f"expected {contacts} in {pages} (a page applied twice or lost)",
    )
    bad = (
        subscription_jobs(sub)
        .exclude(status__in=(Job.Status.SUCCEEDED, Job.Status.SKIPPED))
        .exclude(kind=Job.Kind.POLL, status__in=(Job.Status.QUEUED, Job.Status.RUNNING))
        .values_list("pk", "status", "error_message")
    )
    check(len(bad) == failed_jobs, f"jobs not ended well: {list(bad)[:3]}")
    problems = equal_contacts(world, location)
    check(not problems, "; ".join(problems[:4]))


# ---------------------------------------------------------------------------------------------
# Scenarios


WORKER_KILL_PACE_MS = 300  # a page's pace for worker_kill's location until the second kill


def scenario_worker_kill(ctx):
    """SIGKILL of the worker group at two random moments of a backfill; a new worker is started
    at once (a process manager's restart). Recovery: from each kill to the job's next attempt."""
    from integrations.models import JobAttempt, Subscription

    contacts = 2_000 if ctx.quick else 20_000
    pages = math.ceil(contacts / 100)
    location = ctx.world.location("fm-kill-0001", contacts=contacts, seed=ctx.seed, subscribe=False)
    # Paced until the second kill, as all_killed's: a fast backfill can otherwise run past
    # the second kill's page, or to its end, between two of the harness's looks.
    ctx.stack.api.faults(locationId=location.location_id, latencyMs=WORKER_KILL_PACE_MS)
    location.subscription = sub = ctx.world.subscribe(location)
    first, second = (
        ctx.rng.randint(pages // 10, pages * 4 // 10),
        ctx.rng.randint(pages * 5 // 10, pages * 8 // 10),
    )
    recoveries, at = [], []
    for target in (first, second):
        wait_until(
            lambda target=target: Subscription.objects.get(pk=sub.pk).backfill_pages >= target,
            timeout=900,
            what=f"{target} pages",
        )
        ctx.stack.worker.kill()
        killed = time.time()
        if target == second:
            ctx.stack.api.faults_clear(location.location_id)
        now = Subscription.objects.get(pk=sub.pk)
        ctx.stack.worker_start()
        check(
            not now.backfill_finished_at,
            f"the harness killed the worker after the backfill's end (page {now.backfill_pages})",
        )
        at.append(now.backfill_pages)
        wait_until(
            lambda killed=killed: attempts_after(sub, killed).exists(),
            timeout=180,
            what="the killed job taken up again",
        )
        started = attempts_after(sub, killed).earliest("started_at").started_at.timestamp()
        recoveries.append(max(started - killed, 0.0))
    wait_until(lambda: backfill_done(sub), timeout=1200, what="the backfill's end")
    backfill_invariant(ctx.world, location, contacts)
    lost = JobAttempt.objects.filter(
        job__subject=f"subscription {sub.pk}", outcome=JobAttempt.Outcome.WORKER_LOST
    ).count()
    check(lost >= 1, "no attempt recorded as worker lost")
    return Outcome(
        True,
        max(recoveries),
        notes=[f"killed at pages {at[0]} and {at[1]} of {pages}; worker_lost attempts {lost}"],
        figures={"kill_recovery_s": " ".join(f"{r:.1f}" for r in recoveries)},
    )


FAULTS = {
    # name: (fault rule, OAuth connection, how long the fault lasts at most)
    "storm": ({"stormRate": 1.0, "stormSeconds": 15, "retryAfter": 2}, False, 20),
    "errors": ({"errorRate": 0.3, "errorStatus": 503}, False, 60),
    "latency": ({"latencyMs": 2000}, False, 60),
    "drops": ({"dropRate": 0.2}, False, 60),
    "html": ({"htmlRate": 0.2}, False, 60),
    "token_expired": ({"expireTokensNow": True}, True, 0),
    "refresh_refused": ({"refuseRefresh": True, "expireTokensNow": True}, True, 0),
}


TOKEN_PACE_MS = 1500  # a page's pace for the token faults' locations until the fault is set


def scenario_sandbox_faults(ctx):
    """Each fault on its own location during a backfill, all at once; then cleared. Each
    backfill must end equal to the sandbox; a refused refresh must flag the connection for
    re-consent (with a message) and resume after it."""
    from integrations.models import Connection, Job, Subscription, SyncLog

    contacts = 300 if ctx.quick else 1_000
    locations = {}
    for n, (name, (_rule, oauth, _)) in enumerate(FAULTS.items(), start=1):
        locations[name] = ctx.world.location(
            f"fm-fault-{n:04d}", contacts=contacts, seed=ctx.seed + n, oauth=oauth, subscribe=False
        )
    rules_set = time.time()
    for name, (rule, _, _) in FAULTS.items():
        if "expireTokensNow" not in rule:
            ctx.stack.api.faults(locationId=locations[name].location_id, seed=ctx.seed, **rule)
        else:  # slowed until the token fault replaces this rule, so that it strikes mid-backfill
            ctx.stack.api.faults(locationId=locations[name].location_id, latencyMs=TOKEN_PACE_MS)
    started = time.time()
    for location in locations.values():
        location.subscription = ctx.world.subscribe(location)
    # Token faults strike once the backfill is under way: after its first page, while the
    # second is slowed (at low load a 300-contact backfill otherwise ends before the harness,
    # polling every 0.5 s, has set the fault: it then met only the polls after the backfill).
    struck, problems = {}, []
    pages = math.ceil(contacts / 100)
    for name in ("token_expired", "refresh_refused"):
        location = locations[name]
        wait_until(
            lambda location=location: (
                Subscription.objects.get(pk=location.subscription.pk).backfill_pages >= 1
            ),
            timeout=120,
            what=f"{name}: the first page",
        )
        ctx.stack.api.faults(locationId=location.location_id, **FAULTS[name][0])
        struck[name] = (
            Subscription.objects.get(pk=location.subscription.pk).backfill_pages,
            datetime.now(tz=UTC),
        )
        if struck[name][0] >= pages:
            problems.append(
                f"{name}: the harness set the fault after the backfill's last page "
                f"({struck[name][0]} of {pages}): it proves nothing"
            )
    cleared, recoveries, seen_any = {}, {}, []
    notes = [f"{name}: fault set after page {n} of {pages}" for name, (n, _) in struck.items()]
    deadline = time.monotonic() + 300
    pending = set(FAULTS)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            location = locations[name]
            rule, _, lasts = FAULTS[name]
            done = backfill_done(location.subscription)
            if name == "refresh_refused" and name not in cleared:
                connection = Connection.objects.get(pk=location.connection.pk)
                if connection.status == Connection.Status.NEEDS_REAUTH:
                    check(
                        connection.last_error,
                        "refresh_refused: the connection is flagged without a message",
                    )
                    notes.append(f"refresh_refused: flagged: {connection.last_error[:120]}")
                    ctx.stack.api.faults_clear(location.location_id)
                    # Re-consent: a new code exchanged for new tokens (as the callback does).
                    ctx.world.oauth_tokens(connection, location.location_id)
                    connection.last_error = ""
                    connection.save()
                    Subscription.objects.filter(pk=location.subscription.pk).update(
                        next_run_at=None
                    )
                    cleared[name] = time.time()
                elif done:
                    problems.append("refresh_refused: backfill finished with the refresh refused")
                    problems += refresh_refused_record(location, struck[name])
                    pending.discard(name)
                continue
            if name not in cleared and (done or time.time() - started > lasts):
                ctx.stack.api.faults_clear(location.location_id)
                cleared[name] = time.time()
                if "stormSeconds" in rule:  # the storm ended by itself
                    cleared[name] = min(cleared[name], rules_set + rule["stormSeconds"])
            if done and name in cleared:
                recoveries[name] = max(done.backfill_finished_at.timestamp() - cleared[name], 0.0)
                pending.discard(name)
        time.sleep(1)
    for name in pending:
        problems.append(f"{name}: not finished within 300 s")
        ctx.stack.api.faults_clear(locations[name].location_id)
    for name, location in locations.items():
        if name in pending:
            continue
        expected_failures = 0
        if name == "refresh_refused":
            # The job that met invalid_grant ends failed, permanently, saying to connect again;
            # after the re-consent a new job finishes the pass.
            failed = subscription_jobs(location.subscription).filter(status=Job.Status.FAILED)
            expected_failures = failed.count()
            if expected_failures != 1 or "invalid_grant" not in failed.first().error_message:
                problems.append(
                    f"refresh_refused: {expected_failures} failed jobs, expected the one that met "
                    f"invalid_grant: {list(failed.values_list('error_message', flat=True))[:2]}"
                )
        try:
            backfill_invariant(ctx.world, location, contacts, failed_jobs=expected_failures)
        except Broken as exc:
            problems.append(f"{name}: {exc}")
        seen = SyncLog.objects.filter(location=location).exclude(status=200).count()
        seen_any.append(f"{name}: {seen} faulted calls on record")
        if not seen and name not in ("latency", "token_expired"):
            problems.append(f"{name}: no faulted call on record (the fault did not strike)")
    connection = Connection.objects.get(pk=locations["token_expired"].connection.pk)
    if not connection.token_refreshed_at or connection.status != Connection.Status.ACTIVE:
        problems.append(f"token_expired: not refreshed (status {connection.status})")
    for name, seconds in sorted(recoveries.items()):
        notes.append(f"{name}: recovered in {seconds:.1f} s")
    return Outcome(
        not problems,
        max(recoveries.values(), default=0.0),
        notes=notes + seen_any + problems,
        figures={f"fault_recovery_s_{k}": f"{v:.1f}" for k, v in sorted(recoveries.items())},
    )


def refresh_refused_record(location, struck):
    """What the database holds when the refresh-refused case breaks: the pages done when the
    fault was set, the connection, the jobs and the calls that did not answer 200."""
    from integrations.models import Connection, Subscription, SyncLog

    pages, when = struck
    finished = Subscription.objects.get(pk=location.subscription.pk).backfill_finished_at
    connection = Connection.objects.get(pk=location.connection.pk)
    jobs = subscription_jobs(location.subscription).order_by("pk")
    calls = SyncLog.objects.filter(location=location).exclude(status=200).order_by("pk")
    return [
        f"refresh_refused record: fault set at {when:%H:%M:%S.%f} after page {pages}, backfill "
        f"finished at {finished:%H:%M:%S.%f}; connection "
        f"{connection.status} {connection.auth_type} {connection.last_error[:80]!r}",
        "refresh_refused record: jobs "
        + "; ".join(f"{j.kind} {j.status} {j.queued_at:%H:%M:%S}" for j in jobs),
        "refresh_refused record: calls "
        + "; ".join(f"{c.at:%H:%M:%S} {c.path[:40]} {c.status} job {c.job_id}" for c in calls),
    ]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def webhook_signed(raw):
    """``raw`` as HighLevel delivers it: the body and its signed headers."""
    from sandbox.access.services.signing import webhook_sign

    return raw, {"content-type": "application/json", **webhook_sign(body=raw)}


def webhook_history(ctx, location, *, contacts, updates):
    """Create ``contacts`` contacts and update each ``updates`` times through the sandbox's API
    (8 clients at once): the sandbox records each change's signed event. Returns the events'
    bodies, oldest first."""
    from sandbox.access.models import WebhookEvent as SandboxEvent

    token = ctx.world.tokens[location.location_id]
    api = ctx.stack.api

    def life(n):
        answer = api.call(
            "POST",
            "/contacts/",
            token=token,
            json={
                "locationId": location.location_id,
                "firstName": f"V0-{n}",
                "lastName": "Hook",
                "email": f"hook{n}@fault.test",
            },
        )
        check(answer.status_code in (200, 201), f"create: {answer.status_code} {answer.text[:200]}")
        contact_id = answer.json()["contact"]["id"]
        for version in range(1, updates + 1):
            answer = api.call(
                "PUT",
                f"/contacts/{contact_id}",
                token=token,
                json={"firstName": f"V{version}-{n}", "email": f"hook{n}.v{version}@fault.test"},
            )
            check(answer.status_code == 200, f"update: {answer.status_code} {answer.text[:200]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(life, range(contacts)))
    rows = SandboxEvent.objects.filter(
        location_id=location.location_id, event_type__in=("ContactCreate", "ContactUpdate")
    ).order_by("created_at", "pk")
    return [row.body for row in rows]


def garbage_requests(rng, count, signed_body):
    """``count`` requests HighLevel never sends: unsigned, wrongly signed, not JSON, empty, too
    large, or someone else's signature. Each (body bytes, headers)."""
    out = []
    for n in range(count):
        kind = n % 6
        payload = json.dumps(
            {
                "type": "ContactUpdate",
                "locationId": "fm-hook-0001",
                "id": f"fm-garbage-{n}",
                "email": f"garbage{n}@fault.test",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "webhookId": f"fm-garbage-{n}",
            }
        ).encode()
        noise = base64.b64encode(rng.randbytes(64)).decode()
        if kind == 0:
            out.append((payload, {"content-type": "application/json"}))
        elif kind == 1:
            out.append((payload, {"content-type": "application/json", "x-ghl-signature": noise}))
        elif kind == 2:
            out.append((rng.randbytes(200), {"x-ghl-signature": noise}))
        elif kind == 3:
            out.append((b"", {"content-type": "application/json", "x-wh-signature": "%%%"}))
        elif kind == 4:
            out.append((b"{" + b" " * (2 * 1024 * 1024) + b"}", {"x-ghl-signature": noise}))
        else:  # a real signature, of another body
            _body, headers = signed_body
            out.append((payload, {**headers}))
    return out


def post_webhook(session, url, body, headers, timings):
    started = time.perf_counter()
    try:
        answer = session.post(url, data=body, headers=headers, timeout=60)
        status = answer.status_code
    except requests.RequestException as exc:
        status = f"no answer ({type(exc).__name__})"
    timings.append(time.perf_counter() - started)
    return status


def scenario_webhooks(ctx):
    """Signed events with duplicates, shuffled (out-of-order updates of a contact), stale copies
    and garbage, sent by 8 clients at once. Duplicates applied once, final state equal to the
    sandbox's latest, the bad ones refused (4xx), never a 5xx."""
    from integrations.models import Job, JobAttempt, WebhookEvent

    contacts, updates = (25, 4) if ctx.quick else (250, 7)
    location = ctx.world.location("fm-hook-0001", subscribe=False)
    bodies = webhook_history(ctx, location, contacts=contacts, updates=updates)
    check(len(bodies) == contacts * (updates + 1), f"the sandbox recorded {len(bodies)} events")
    rng = ctx.rng
    signed = [webhook_signed(body.encode()) for body in bodies]
    deliveries = [("good", b, h) for b, h in signed]
    duplicates = rng.sample(signed, len(signed) // 5)
    deliveries += [("good", b, h) for b, h in duplicates]
    stale = []
    for body, _ in rng.sample(signed, max(1, len(signed) // 20)):
        old = json.loads(body)
        old["timestamp"] = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 20 * 60)
        )
        raw = json.dumps(old, separators=(",", ":")).encode()
        stale.append(("stale", *webhook_signed(raw)))
    deliveries += stale
    garbage = [
        ("garbage", b, h) for b, h in garbage_requests(rng, 200 if not ctx.quick else 30, signed[0])
    ]
    deliveries += garbage
    rng.shuffle(deliveries)
    url = ctx.stack.web_root + "/integrations/webhooks/highlevel/"
    answers, timings = [], []
    local = threading.local()

    def send(item):
        kind, body, headers = item
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        status = post_webhook(session, url, body, headers, timings if kind == "good" else [])
        for attempt in range(5):  # HighLevel retries a 429, with backoff
            if status != 429 or kind != "good":
                break
            time.sleep(1 + attempt)
            status = post_webhook(session, url, body, headers, [])
        return kind, status

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, deliveries))
    sent = time.time()
    problems = []
    five = [(k, s) for k, s in answers if not isinstance(s, int) or s >= 500]
    if five:
        problems.append(f"{len(five)} answered 5xx or not at all (e.g. {five[0]})")
    good_refused = [s for k, s in answers if k == "good" and s != 200]
    if good_refused:
        problems.append(f"{len(good_refused)} signed fresh events refused (e.g. {good_refused[0]})")
    bad_taken = [(k, s) for k, s in answers if k != "good" and isinstance(s, int) and s < 400]
    if bad_taken:
        problems.append(
            f"{len(bad_taken)} stale or garbage requests accepted (e.g. {bad_taken[0]})"
        )
    ids = {json.loads(b)["webhookId"] for b, _ in signed}

    def processed():
        events = WebhookEvent.objects.filter(webhook_id__in=ids)
        busy = Job.objects.filter(
            kind=Job.Kind.WEBHOOK, status__in=(Job.Status.QUEUED, Job.Status.RUNNING)
        ).exists()
        return events.filter(status="processed").count() == len(ids) and not busy

    try:
        wait_until(processed, timeout=600, what="every event processed", every=1)
    except Broken as exc:
        problems.append(str(exc))
    recovery = time.time() - sent
    stored = WebhookEvent.objects.filter(webhook_id__in=ids).count()
    if stored != len(ids):
        problems.append(f"{stored} events stored for {len(ids)} webhook ids")
    jobs = Job.objects.filter(kind=Job.Kind.WEBHOOK, location=location)
    doubled = JobAttempt.objects.filter(job__in=jobs, outcome="succeeded").count()
    if doubled > len(ids):
        problems.append(f"{doubled} successful webhook attempts for {len(ids)} events")
    from rankr.models import Contact

    if Contact.objects.filter(ghl_id__startswith="fm-garbage").exists():
        problems.append("a garbage request reached Rankr")
    problems += equal_contacts(ctx.world, location, fields=("email", "first_name"))
    ms = [t * 1000 for t in timings]
    return Outcome(
        not problems,
        recovery,
        notes=problems[:5]
        + [
            f"{len(signed)} events, {len(duplicates)} duplicates, {len(stale)} stale, "
            f"{len(garbage)} garbage"
        ],
        figures={
            "webhook_ack_p50_ms": f"{percentile(ms, 0.5):.0f}",
            "webhook_ack_p99_ms": f"{percentile(ms, 0.99):.0f}",
        },
    )


def scenario_creates_dropped(ctx):
    """Rankr -> HighLevel creates of users and leads with 30 % of the sandbox's answers dropped
    after it stored the record; every failed job re-run (support's *Re-run*) until all
    succeeded. Each record exists once in the sandbox (read over its API)."""
    from django.utils import timezone

    from integrations.models import Job
    from integrations.sync.jobs import job_rerun
    from integrations.sync.rankr_events import rankr_lead_create, rankr_user_create
    from mappings.services import mapping_template_apply
    from sandbox.access.services.registry import spec_scopes_all

    count = 25 if ctx.quick else 200
    scopes = sorted(spec_scopes_all())
    location = ctx.world.location("fm-create-0001", subscribe=False, scopes=scopes)
    for key in ("rankr_user_create", "rankr_lead_create"):
        mapping_template_apply(template_key=key, location_id=location.pk, user_id=None)
    ctx.stack.api.faults(locationId=location.location_id, seed=ctx.seed, dropRate=0.3)
    since = timezone.now()
    for n in range(count):
        rankr_user_create(
            location_id=location.pk,
            email=f"staff{n:03d}@fault.test",
            full_name=f"Staff Member{n:03d}",
            role="user",
        )
        rankr_lead_create(
            location_id=location.pk,
            values={"email": f"lead{n:03d}@fault.test", "first_name": "Lead", "last_name": f"N{n}"},
        )
    jobs = Job.objects.filter(kind=Job.Kind.RANKR_EVENT, location=location, queued_at__gte=since)
    check(jobs.count() == 2 * count, f"{jobs.count()} jobs for {2 * count} creates")
    reruns, deadline = 0, time.monotonic() + 600
    while jobs.exclude(status=Job.Status.SUCCEEDED).exists():
        check(time.monotonic() < deadline, "creates not all succeeded within 600 s")
        failed = list(
            jobs.filter(status__in=(Job.Status.FAILED, Job.Status.DEAD)).values_list(
                "pk", flat=True
            )
        )
        if failed:
            reruns += job_rerun(job_ids=failed, user_id=None)
        time.sleep(2)
    cleared = time.time()
    ctx.stack.api.faults_clear(location.location_id)
    token = ctx.world.tokens[location.location_id]
    users, ids, skip = {}, set(), 0
    for _ in range(500):  # bounded; users page with skip/limit (each page as long as it says)
        answer = ctx.stack.api.call(
            "GET",
            "/users/search",
            token=token,
            params={
                "companyId": COMPANY,
                "locationId": location.location_id,
                "skip": skip,
                "limit": 100,
            },
        )
        check(answer.status_code == 200, f"sandbox users: {answer.status_code} {answer.text[:300]}")
        page = [u for u in answer.json().get("users", []) if u["id"] not in ids]
        for user in page:
            ids.add(user["id"])
            users[user.get("email")] = users.get(user.get("email"), 0) + 1
        if not page:
            break
        skip += len(page)
    contacts = {}
    for contact in ctx.world.sandbox_contacts(location.location_id).values():
        email = (contact.get("email") or "").lower()
        contacts[email] = contacts.get(email, 0) + 1
    problems = []
    for kind, seen, prefix in (("user", users, "staff"), ("lead", contacts, "lead")):
        wanted = [f"{prefix}{n:03d}@fault.test" for n in range(count)]
        wrong = {e: seen.get(e, 0) for e in wanted if seen.get(e, 0) != 1}
        if wrong:
            problems.append(
                f"{kind}s not exactly once: {len(wrong)} (e.g. {sorted(wrong.items())[:2]})"
            )
    lost = jobs.filter(attempt_rows__error_class="GhlOutcomeUnknown").distinct().count()
    return Outcome(
        not problems,
        0.0,
        notes=problems
        + [
            f"{2 * count} creates; {lost} met a lost answer; {reruns} re-runs; cleared at {cleared:.0f}"
        ],
    )


SKEW_S = 20  # the second host's clock, ahead of the first's


def group_pids(leader):
    """The processes of ``leader``'s process group (a qcluster and the workers it spawned)."""
    return {pid for pid, _fields in process_group_stats(leader)}


def scenario_two_hosts(ctx):
    """Two workers and two dispatchers (two hosts) with many subscriptions on a 1-minute interval
    for minutes, the second host's clock 20 s ahead (``PORTAL_CLOCK_OFFSET_S``: its
    ``timezone.now()``, model defaults and django-q2's ORM-broker locks): no subscription runs
    twice at once (overlapping attempts of one subscription, on the database's clock), none
    starves, and the skewed host does its share of the runs."""
    from django.utils import timezone

    from integrations.models import JobAttempt, Subscription

    # Quick: 70 s, so each subscription runs twice (at its start and a minute later).
    count, duration = (20, 70) if ctx.quick else (200, 300)
    subs = []
    for n in range(1, count + 1):
        location = ctx.world.location(f"fm-host-{n:04d}", contacts=3, seed=ctx.seed + n)
        subs.append(location.subscription.pk)
    # Every one due now on its 1-minute interval (those already dispatched were due in 5).
    Subscription.objects.filter(pk__in=subs).update(interval_minutes=1, next_run_at=None)
    skewed = {"PORTAL_CLOCK_OFFSET_S": str(SKEW_S)}
    second = [
        qcluster(workers=ctx.stack.workers_per, name="qcluster-b", env=skewed),
        dispatcher(every=TICK_S, name="dispatcher-b", env=skewed),
    ]
    began = timezone.now()
    host, skewed_workers = socket.gethostname(), set()
    try:
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:  # its worker processes (django-q2 may recycle them)
            skewed_workers |= {f"{host}:{pid}" for pid in group_pids(second[0].proc.pid)}
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    finally:
        for proc in second:
            proc.stop()
    ended = timezone.now()
    attempts = JobAttempt.objects.filter(
        job__subject__in=[f"subscription {pk}" for pk in subs], started_at__gte=began
    ).values_list("job__subject", "started_at", "ended_at", "worker")
    by_sub = {}
    for subject, start, end, worker in attempts:
        by_sub.setdefault(subject, []).append((start, end or ended, worker))
    overlaps = 0
    for runs in by_sub.values():
        runs.sort()
        for (_s1, e1, _w1), (s2, _e2, _w2) in itertools.pairwise(runs):
            overlaps += s2 < e1
    least = max(1, duration // 60 - 1)
    starved = [pk for pk in subs if len(by_sub.get(f"subscription {pk}", [])) < least]
    workers = {w for runs in by_sub.values() for _s, _e, w in runs}
    on_skewed = sum(1 for runs in by_sub.values() for _s, _e, w in runs if w in skewed_workers)
    problems = []
    if overlaps:
        problems.append(f"{overlaps} overlapping runs of one subscription")
    if starved:
        rows = Subscription.objects.filter(pk__in=starved[:3]).values(
            "pk", "last_run_at", "next_run_at", "claimed_until", "claimed_job__status"
        )
        problems.append(
            f"{len(starved)} subscriptions ran fewer than {least} times "
            f"(began {began:%H:%M:%S}): {list(rows)}"
        )
    if not on_skewed:
        problems.append(f"the host whose clock is {SKEW_S} s ahead ran nothing")
    total = sum(len(r) for r in by_sub.values())
    return Outcome(
        not problems,
        0.0,
        notes=problems
        + [
            f"{count} subscriptions, {duration} s, {total} runs by {len(workers)} worker "
            f"processes, {on_skewed} of them on the host whose clock is {SKEW_S} s ahead"
        ],
        figures={
            "two_hosts_runs": total,
            "two_hosts_runs_skewed_host": on_skewed,
            "two_hosts_overlapping_runs": overlaps,
        },
    )


NOT_BACKED_UP = {"sandbox", "sandbox_access", "contenttypes", "django_q", "sessions"}


def backup_models():
    """The portal's models a backup holds (the sandbox is HighLevel: not ours to back up; the
    django-q2 queue and sessions are not restored)."""
    from django.apps import apps

    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label not in NOT_BACKED_UP
        and m._meta.label != "auth.Permission"
        and m._meta.managed
        and not m._meta.proxy
    ]


def database_dump(path):
    """One snapshot of every backed-up table, as a backup tool takes it (the stack runs on: read
    table by table outside one, a subscription could name a job the job table's read missed)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            else:  # SQLite in WAL mode: a read transaction's first read fixes its snapshot
                cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
        call_command(
            "dumpdata",
            *[m._meta.label for m in backup_models() if not m._meta.auto_created],
            output=str(path),
            verbosity=0,
        )


def database_restore(path):
    """Every backed-up table emptied, then the dump loaded (as restoring a backup does)."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    tables = sorted({m._meta.db_table for m in backup_models()})
    with transaction.atomic(), connection.constraint_checks_disabled():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f'DELETE FROM "{table}"')
        else:
            for statement in connection.ops.sql_flush(no_style(), tables, allow_cascade=True):
                with connection.cursor() as cursor:
                    cursor.execute(statement)
    call_command("loaddata", str(path), verbosity=0)
    connection.close()


def scenario_restore_backup(ctx):
    """Dump the portal's database, let syncs and token refreshes run, restore the dump. The
    refresh tokens in the dump were spent (HighLevel's are single-use): an OAuth location of an
    agency with a still-valid agency connection is minted a token from it and goes on, as does a
    location minted from it; an OAuth location of an agency without one is flagged for
    re-consent with a message. After the re-consent each holds exactly the sandbox's contacts
    again, the ones the restore rolled back included, none twice."""
    import tempfile

    from django.utils import timezone

    from integrations.models import Connection, Subscription
    from sandbox.access.services.oauth import authorization_code_issue
    from sandbox.access.services.registry import spec_scopes_all

    contacts = 100 if ctx.quick else 1_000
    world = ctx.world
    own = world.location("fm-restore-0001", contacts=contacts, seed=ctx.seed, oauth=True)
    lone = world.location(
        "fm-restore-0003",
        contacts=contacts,
        seed=ctx.seed + 2,
        oauth=True,
        company="fm-company-alone",
    )
    minted = world.location(
        "fm-restore-0002", contacts=contacts, seed=ctx.seed + 1, subscribe=False
    )
    # The agency's consent, and the second location's token minted from it by the portal.
    scopes = sorted(spec_scopes_all())
    code = authorization_code_issue(
        app=world.sandbox_app,
        company=world.company,
        location_ids=[],
        agency_chosen=True,
        redirect_uri=REDIRECT,
        scopes=SCOPES + ["oauth.readonly", "oauth.write"],
    )
    grant = requests.post(
        ctx.stack.sandbox.base + "/services/oauth/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "user_type": "Company",
            "redirect_uri": REDIRECT,
        },
        timeout=30,
    )
    check(grant.status_code == 200, f"agency consent: {grant.status_code} {grant.text[:200]}")
    grant = grant.json()
    agency = Connection(
        app=world.app,
        agency=world.agency,
        kind=Connection.Kind.AGENCY,
        auth_type=Connection.AuthType.OAUTH,
        scopes=grant.get("scope", " ".join(scopes)),
    )
    agency.access_token = grant["access_token"]
    agency.refresh_token = grant["refresh_token"]
    agency.token_expires_at = timezone.now() + timedelta(seconds=grant["expires_in"])
    agency.save()
    connection = Connection.objects.get(pk=minted.connection.pk)
    connection.auth_type = Connection.AuthType.AGENCY_MINTED
    connection.parent = agency
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = timezone.now() - timedelta(seconds=1)  # minted at first use
    connection.save()
    minted.connection = connection
    minted.subscription = world.subscribe(minted)
    everyone = (own, minted, lone)
    subs = [x.subscription.pk for x in everyone]
    Subscription.objects.filter(pk__in=subs).update(interval_minutes=1)
    phases, phase_began = {}, time.monotonic()

    def phase(name):  # where the scenario's time goes, in its notes
        nonlocal phase_began
        phases[name] = time.monotonic() - phase_began
        phase_began = time.monotonic()

    for location in everyone:
        wait_until(
            lambda location=location: backfill_done(location.subscription),
            timeout=600,
            what="the backfills",
        )
    phase("backfills")
    backup = Path(tempfile.mkdtemp(prefix="fault-matrix-backup-")) / "portal.json"
    try:
        database_dump(backup)
        dumped = {
            x.connection.pk: Connection.objects.get(pk=x.connection.pk).token_refreshed_at
            for x in (own, lone)
        }
        # After the backup: HighLevel changes, tokens expire and are refreshed, syncs run.
        for location in everyone:
            token = world.tokens[location.location_id]
            for n in range(20):
                answer = ctx.stack.api.call(
                    "POST",
                    "/contacts/",
                    token=token,
                    json={
                        "locationId": location.location_id,
                        "firstName": "After",
                        "lastName": f"Backup{n}",
                        "email": f"after{n}.{location.location_id}@fault.test",
                    },
                )
                check(answer.status_code in (200, 201), f"create: {answer.status_code}")
            ctx.stack.api.faults(locationId=location.location_id, expireTokensNow=True)
            ctx.stack.api.faults_clear(location.location_id)
        Subscription.objects.filter(pk__in=subs).update(next_run_at=None)

        def caught_up():
            refreshed = all(
                Connection.objects.get(pk=pk).token_refreshed_at != at for pk, at in dumped.items()
            )
            return refreshed and all(not equal_contacts(world, x) for x in everyone)

        wait_until(caught_up, timeout=300, what="the syncs and refreshes after the backup", every=2)
        phase("caught_up_after_dump")
        # The restore: the operator stops the portal's processes, restores, starts them again.
        for proc in (ctx.stack.dispatcher, ctx.stack.worker, ctx.stack.web):
            proc.stop()
        phase("stopped")
        try:
            database_restore(backup)
        finally:  # started again even if the restore failed: the next scenarios need them
            restored = time.time()
            phase("restored")
            ctx.stack.web_start()
            ctx.stack.worker_start()
            ctx.stack.dispatcher_start()
        phase("restarted")
    finally:
        backup.unlink(missing_ok=True)
        backup.parent.rmdir()
    problems, notes = [], []
    Subscription.objects.filter(pk__in=subs).update(next_run_at=None)

    def flagged():
        row = Connection.objects.get(pk=lone.connection.pk)
        return row if row.status == Connection.Status.NEEDS_REAUTH else None

    try:
        row = wait_until(flagged, timeout=180, what="the spent refresh token detected", every=1)
        notes.append(f"flagged: {row.last_error[:100]}")
        if "Connect again" not in row.last_error:
            problems.append(f"flagged without saying to connect again: {row.last_error[:200]}")
    except Broken as exc:
        problems.append(str(exc))
    try:
        wait_until(
            lambda: not equal_contacts(world, minted),
            timeout=180,
            what="the minted location re-synced",
            every=2,
        )
    except Broken as exc:
        problems.append(f"{exc}: {equal_contacts(world, minted)[:2]}")
    row = Connection.objects.get(pk=minted.connection.pk)
    if row.status != Connection.Status.ACTIVE:
        problems.append(
            f"the minted location was not minted again: {row.status} {row.last_error[:150]}"
        )
    # Re-consent of the flagged location, then its re-sync.
    row = Connection.objects.get(pk=own.connection.pk)
    world.oauth_tokens(row, own.location_id)
    row.last_error = ""
    row.save()
    Subscription.objects.filter(pk=own.subscription.pk).update(next_run_at=None)
    try:
        wait_until(
            lambda: not equal_contacts(world, own),
            timeout=180,
            what="the re-consented location re-synced",
            every=2,
        )
    except Broken as exc:
        problems.append(f"{exc}: {equal_contacts(world, own)[:2]}")
    phase("recovered")
    notes.append("phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()))
    # Cleaned up: the scenarios after this one expect no agency connection for the world's
    # agency (sandbox_faults' refused refresh must flag its location, not re-mint it), and an
    # idle machine.
    Connection.objects.filter(pk=agency.pk).update(status=Connection.Status.DISCONNECTED)
    Subscription.objects.filter(pk__in=subs).update(enabled=False)
    return Outcome(not problems, time.time() - restored, notes=problems + notes)


KILL_PACE_MS = 1000  # a page's pace for all_killed's location until the kill and terminate


def scenario_all_killed(ctx):
    """SIGKILL of web, worker and dispatcher together mid-backfill, then (PostgreSQL) every
    connection to the harness's database terminated; all restarted. Recovery: from the kill to
    the job's next attempt."""
    from integrations.models import Subscription

    contacts = 600 if ctx.quick else 3_000
    pages = math.ceil(contacts / 100)
    location = ctx.world.location("fm-all-0001", contacts=contacts, seed=ctx.seed, subscribe=False)
    # Paced until the kill and the terminate: at low load a 600-contact backfill otherwise
    # ends (in under a second) before the harness, polling every 0.5 s, kills anything mid-run.
    ctx.stack.api.faults(locationId=location.location_id, latencyMs=KILL_PACE_MS)
    location.subscription = sub = ctx.world.subscribe(location)
    target = ctx.rng.randint(max(1, pages // 5), max(2, pages // 2))
    wait_until(
        lambda: Subscription.objects.get(pk=sub.pk).backfill_pages >= target,
        timeout=600,
        what=f"{target} pages",
    )
    for proc in (ctx.stack.web, ctx.stack.worker, ctx.stack.dispatcher):
        proc.kill()
    killed = time.time()
    at = Subscription.objects.get(pk=sub.pk)
    notes = [f"killed at page {at.backfill_pages} of {pages}"]
    ctx.stack.web_start()
    ctx.stack.worker_start()
    ctx.stack.dispatcher_start()
    check(
        not at.backfill_finished_at,
        f"the harness killed the stack after the backfill's end (page {at.backfill_pages}): "
        "nothing was left to take up again",
    )
    try:
        wait_until(
            lambda: attempts_after(sub, killed).exists(), timeout=180, what="the job taken up again"
        )
    except Broken as exc:
        raise Broken("; ".join([str(exc), *jobs_record(ctx, sub)])) from None
    started = attempts_after(sub, killed).earliest("started_at").started_at.timestamp()
    figures = {}
    if ctx.env.pg_name:
        # Mid-run again: every connection to the database dropped under the restarted stack.
        pages_now = Subscription.objects.get(pk=sub.pk).backfill_pages
        terminated_at = time.time()
        terminated = pg_terminate(ctx)
        ctx.stack.api.faults_clear(location.location_id)  # paced to here: a mid-run terminate
        notes.append(f"{terminated} database connections terminated at page {pages_now}")
        check(terminated > 0, "no database connection to terminate: the stack was not running")
        wait_until(
            lambda: (
                Subscription.objects.get(pk=sub.pk).backfill_pages > pages_now or backfill_done(sub)
            ),
            timeout=180,
            what="progress after the connections were terminated",
        )
        figures["terminate_recovery_s"] = f"{time.time() - terminated_at:.1f}"
    else:
        ctx.stack.api.faults_clear(location.location_id)
        notes.append("SQLite: no server connections to terminate")
    wait_until(lambda: backfill_done(sub), timeout=900, what="the backfill's end")
    backfill_invariant(ctx.world, location, contacts)
    answer = requests.get(ctx.stack.web_root + "/accounts/login/", timeout=30)
    check(answer.status_code == 200, f"web answers {answer.status_code} after its restart")
    return Outcome(True, max(started - killed, 0.0), notes=notes, figures=figures)


def jobs_record(ctx, sub):
    """What the database, the broker and the processes hold when a job is not taken up again:
    the subscription's claim and its jobs, every queued job not sent, the broker's queue."""
    from integrations.models import Job, Subscription

    sub = Subscription.objects.get(pk=sub.pk)
    lines = [
        f"subscription claimed until {sub.claimed_until} by job {sub.claimed_job_id}, "
        f"next run {sub.next_run_at}"
    ]
    for job in subscription_jobs(sub).order_by("pk"):
        lines.append(
            f"job {job.pk} {job.kind} {job.status} attempts {job.attempts}/{job.max_attempts} "
            f"sent {job.sent_at} next {job.next_attempt_at} lease {job.lease_until} "
            f"{job.error_class} {job.error_message[:80]!r}"
        )
    queued = Job.objects.filter(status=Job.Status.QUEUED)
    lines.append(
        f"queued jobs {queued.count()}, unsent {queued.filter(sent_at=None).count()}, "
        f"running {Job.objects.filter(status=Job.Status.RUNNING).count()}"
    )
    alive = {name: getattr(ctx.stack, name).proc.poll() for name in ("web", "worker", "dispatcher")}
    lines.append(f"processes' exit codes (None: running): {alive}")
    if ctx.env.redis:
        import redis

        client = redis.Redis.from_url(ctx.env.redis.url)
        lines.append(
            f"broker keys: { {k.decode(): client.type(k).decode() for k in client.keys()} }"
        )
        lines += [
            f"{k.decode()}: {client.llen(k)}" for k in client.keys() if client.type(k) == b"list"
        ]
    return lines


def pg_terminate(ctx):
    """pg_terminate_backend of every connection to the harness's database (ours too)."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(ctx.args.postgres, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [ctx.env.pg_name],
        ).fetchall()
    return len(rows)


def scenario_broker_lost(ctx):
    """The harness's Redis stopped (30 s; quick: 15 s) while a backfill runs, jobs are queued and
    webhooks arrive; started again empty. Every event accepted (after HighLevel's retries of
    the 429s) processed once, the backfill ends equal to the sandbox."""
    from django.db.models import Q
    from django.db.models.functions import Now

    from integrations.models import Job, JobAttempt, Subscription, WebhookEvent

    if not ctx.env.redis:
        return None
    outage = 15 if ctx.quick else 30
    contacts = 600 if ctx.quick else 3_000
    location = ctx.world.location("fm-broker-0001", contacts=contacts, seed=ctx.seed)
    hooks = ctx.world.location("fm-broker-0002", subscribe=False)
    bodies = webhook_history(ctx, hooks, contacts=20, updates=2)
    signed = [webhook_signed(b.encode()) for b in bodies]
    sub = location.subscription
    wait_until(
        lambda: Subscription.objects.get(pk=sub.pk).backfill_pages >= 2,
        timeout=300,
        what="the backfill under way",
    )
    url = ctx.stack.web_root + "/integrations/webhooks/highlevel/"
    session = requests.Session()
    ctx.env.redis.stop()
    stopped = time.monotonic()
    answers = {}
    pending = list(range(len(signed)))
    spacing = outage / len(signed)
    for n in pending:
        answers[n] = post_webhook(session, url, *signed[n], [])
        time.sleep(spacing)
    time.sleep(max(0.0, outage - (time.monotonic() - stopped)))
    ctx.env.redis.start()  # back, empty
    restarted = time.time()
    problems = []
    five = [s for s in answers.values() if not isinstance(s, int) or s >= 500]
    if five:
        problems.append(f"{len(five)} webhook answers 5xx or none during the outage: {five[:3]}")
    for attempt in range(8):  # HighLevel retries the 429s
        refused = [n for n, s in answers.items() if s != 200]
        if not refused:
            break
        time.sleep(2 + attempt)
        for n in refused:
            answers[n] = post_webhook(session, url, *signed[n], [])
    if any(s != 200 for s in answers.values()):
        problems.append(f"events still refused after the broker returned: {set(answers.values())}")
    ids = {json.loads(b)["webhookId"] for b, _ in signed}

    def settled():
        done = WebhookEvent.objects.filter(webhook_id__in=ids, status="processed").count()
        # Work in hand: running, or queued and due (not a verification whose start is spread
        # over the next hours: VERIFY_SPREAD_S).
        busy = Job.objects.filter(
            Q(status=Job.Status.RUNNING)
            | Q(status=Job.Status.QUEUED, next_attempt_at__isnull=True)
            | Q(status=Job.Status.QUEUED, next_attempt_at__lte=Now())
        ).exclude(kind=Job.Kind.POLL)
        return done == len(ids) and backfill_done(sub) and not busy.exists()

    try:
        wait_until(settled, timeout=600, what="events processed and the backfill ended", every=1)
    except Broken as exc:
        problems.append(str(exc))
    recovery = time.time() - restarted
    try:
        backfill_invariant(ctx.world, location, contacts)
    except Broken as exc:
        problems.append(str(exc))
    runs = JobAttempt.objects.filter(job__kind="webhook", job__location=hooks, outcome="succeeded")
    if runs.count() != len(ids):
        problems.append(f"{runs.count()} successful webhook attempts for {len(ids)} events")
    problems += equal_contacts(ctx.world, hooks, fields=("email", "first_name"))
    return Outcome(not problems, recovery, notes=problems[:5] + [f"outage {outage} s"])


class Mount:
    """A tmpfs the harness mounts for the SQLite database (root only). Its size is changed on the
    fly: shrunk to what is in use (the disk is full), then given room again."""

    ROOM_MB = 4096  # tmpfs takes memory only for what is written

    def __init__(self):
        import subprocess
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="fault-matrix-db-")
        self.run = subprocess.run
        answer = self.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.ROOM_MB}m", "tmpfs", self.dir],
            capture_output=True,
            text=True,
        )
        self.mounted = answer.returncode == 0
        self.error = answer.stderr.strip()

    def used_kb(self):
        stat = os.statvfs(self.dir)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize // 1024

    def resize(self, kb):
        answer = self.run(
            ["mount", "-o", f"remount,size={kb}k", self.dir], capture_output=True, text=True
        )
        if answer.returncode:
            raise Broken(f"resizing the mount failed: {answer.stderr.strip()}")

    def fill(self):
        """Shrink to what is in use (a size below it is refused: the database may grow while
        we measure, so a few tries with a little more room)."""
        for margin_kb in (4, 16, 64, 256, 1024):
            try:
                self.resize(self.used_kb() + margin_kb)
                return
            except Broken:
                continue
        self.resize(self.used_kb() + 4096)

    def free(self):
        self.resize(self.ROOM_MB * 1024)

    def close(self):
        if self.mounted:
            self.run(["umount", self.dir], capture_output=True)
        os.rmdir(self.dir)


def scenario_disk_full(ctx):
    """The SQLite database's filesystem full (the harness shrinks its tmpfs to what is in use)
    for 20 s while a backfill runs and webhooks arrive, then given room again. The webhook
    endpoint refuses with a 4xx HighLevel retries (never a 5xx), nothing acknowledged is lost,
    every job ends well, and the backfill ends equal to the sandbox."""
    from django.db import connection

    from integrations.models import Job, Subscription, WebhookEvent

    if ctx.env.pg_name:
        return None
    if not ctx.mount or not ctx.mount.mounted:
        raise Broken(f"no mount for the database: {getattr(ctx.mount, 'error', 'not root?')}")
    contacts = 500 if ctx.quick else 2_000
    location = ctx.world.location("fm-disk-0001", contacts=contacts, seed=ctx.seed)
    hooks = ctx.world.location("fm-disk-0002", subscribe=False)
    bodies = webhook_history(ctx, hooks, contacts=30, updates=1)
    signed = [webhook_signed(b.encode()) for b in bodies]
    sub = location.subscription
    wait_until(
        lambda: Subscription.objects.get(pk=sub.pk).backfill_pages >= 1,
        timeout=300,
        what="the backfill under way",
    )
    with connection.cursor() as cursor:  # the WAL file emptied: a write must find room
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    url = ctx.stack.web_root + "/integrations/webhooks/highlevel/"
    session = requests.Session()
    answers = {}
    ctx.mount.fill()
    try:
        filled = time.monotonic()
        for n, (body, headers) in enumerate(signed):
            answers[n] = post_webhook(session, url, body, headers, [])
            time.sleep(max(0.0, 20 / len(signed) - 0.05))
        time.sleep(max(0.0, 20 - (time.monotonic() - filled)))
    finally:
        ctx.mount.free()
    freed = time.time()
    problems = []
    during = dict(answers)
    five = [s for s in during.values() if not isinstance(s, int) or s >= 500]
    if five:
        problems.append(
            f"{len(five)} webhook answers 5xx or none while the disk was full: {five[:3]}"
        )
    refused = [n for n, s in during.items() if s != 200]
    if not refused:
        problems.append("no webhook refused: the disk was never seen full")
    for attempt in range(8):  # HighLevel retries the 429s
        refused = [n for n, s in answers.items() if s != 200]
        if not refused:
            break
        time.sleep(2 + attempt)
        for n in refused:
            answers[n] = post_webhook(session, url, *signed[n], [])
    if any(s != 200 for s in answers.values()):
        problems.append(f"events refused after space returned: {set(answers.values())}")
    ids = {json.loads(b)["webhookId"] for b, _ in signed}

    def settled():
        done = WebhookEvent.objects.filter(webhook_id__in=ids, status="processed").count()
        busy = Job.objects.filter(kind=Job.Kind.WEBHOOK, status__in=("queued", "running"))
        return done == len(ids) and backfill_done(sub) and not busy.exists()

    try:
        wait_until(settled, timeout=600, what="events processed and the backfill ended", every=1)
    except Broken as exc:
        problems.append(str(exc))
    recovery = time.time() - freed
    try:
        backfill_invariant(ctx.world, location, contacts)
    except Broken as exc:
        problems.append(str(exc))
    problems += equal_contacts(ctx.world, hooks, fields=("email", "first_name"))
    statuses = {}
    for status in during.values():
        statuses[status] = statuses.get(status, 0) + 1
    return Outcome(
        not problems,
        recovery,
        notes=problems[:5] + [f"answers while full: {statuses}"],
    )


FUZZ_TARGETS = (
    "/integrations/oauth/callback/",
    "/integrations/webhooks/highlevel/",
    "/accounts/login/",
)


def fuzz_value(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return ""
    if kind == 1:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 80)))
    if kind == 2:
        return "".join(chr(rng.randrange(0x80, 0x2FFF)) for _ in range(rng.randrange(1, 30)))
    if kind == 3:
        return "A" * rng.choice((1000, 5000, 20000))
    if kind == 4:
        return str(rng.choice((-1, 0, 2**63, 1e308, "NaN", "null", "[]", "{}")))
    if kind == 5:
        return "' OR 1=1 --"
    if kind == 6:
        return "%00%ff\x00"
    return base64.urlsafe_b64encode(rng.randbytes(rng.randrange(1, 60))).decode()


def scenario_fuzz(ctx):
    """Fuzzed requests at the public endpoints: the OAuth callback, the webhook endpoint and the
    sign-in. None may answer 5xx."""
    count = 300 if ctx.quick else 2_000
    rng = ctx.rng
    session = requests.Session()
    failures, statuses = [], {}
    for n in range(count):
        target = FUZZ_TARGETS[n % 3]
        url = ctx.stack.web_root + target
        params = {
            rng.choice(
                ("code", "state", "error", "error_description", "locationId", fuzz_value(rng))
            ): fuzz_value(rng)
            for _ in range(rng.randrange(0, 4))
        }
        method = rng.choice(("GET", "POST", "POST", "PUT", "HEAD"))
        headers = {}
        if rng.random() < 0.5:
            headers["content-type"] = rng.choice(
                (
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                    "multipart/form-data; boundary=x",
                    fuzz_value(rng)[:60],
                )
            )
        if rng.random() < 0.3:
            headers[
                rng.choice(("x-ghl-signature", "x-wh-signature", "cookie", "x-forwarded-for"))
            ] = fuzz_value(rng)[:500]
        # Values a client can send at all (no control characters, no leading space).
        headers = {
            k: "".join(c for c in v if " " <= c <= "~").strip() or "x" for k, v in headers.items()
        }
        body = None
        if method != "GET" and method != "HEAD":
            body = rng.choice(
                (
                    fuzz_value(rng).encode(),
                    json.dumps(
                        {fuzz_value(rng)[:20]: fuzz_value(rng)[:200] for _ in range(3)}
                    ).encode(),
                    rng.randbytes(rng.randrange(0, 3000)),
                    "&".join(
                        f"{k}={v}"
                        for k, v in (
                            ("login", fuzz_value(rng)[:50]),
                            ("password", fuzz_value(rng)[:50]),
                        )
                    ).encode(),
                )
            )
        try:
            answer = session.request(
                method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=30,
                allow_redirects=False,
            )
            status = answer.status_code
        except requests.RequestException as exc:
            status = f"no answer ({type(exc).__name__})"
        statuses[status] = statuses.get(status, 0) + 1
        if not isinstance(status, int) or status >= 500:
            failures.append((method, target, status))
    return Outcome(
        not failures,
        0.0,
        notes=[f"{count} requests; answers {dict(sorted(statuses.items(), key=str))}"]
        + [f"5xx: {f}" for f in failures[:5]],
    )


# ---------------------------------------------------------------------------------------------


class Context:
    def __init__(self, args, env, stack, world, seed, mount):
        self.args, self.env, self.stack, self.world = args, env, stack, world
        self.mount = mount
        self.seed = seed
        self.rng = random.Random(seed)
        self.quick = args.quick


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="One seed, smaller volumes (CI).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="Comma-separated scenario names.")
    parser.add_argument(
        "--postgres", help="A PostgreSQL server URL (a database of ours is made on it)."
    )
    parser.add_argument(
        "--redis",
        help="Redis mode (a redis-server of our own on a free port; the URL's server is not touched).",
    )
    args = parser.parse_args()
    # A SIGTERM (CI's timeout, a person's kill) cleans up as an error does: every process, the
    # database and the mount this run made.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = [s for s in args.only.split(",") if s] or SCENARIOS
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if bool(args.postgres) != bool(args.redis):
        parser.error("--postgres and --redis go together")
    mount = Mount() if not args.postgres and "disk_full" in chosen else None
    env = BenchEnvironment(
        limits_off=True,
        postgres=args.postgres,
        redis=bool(args.redis),
        sqlite_dir=mount.dir if mount and mount.mounted else None,
        extra={
            "LOG_LEVEL": "ERROR",
            "SANDBOX_RATE_BURST": UNLIMITED,
            # --quick: a shorter lease (the heartbeat still fits four times), so each lost
            # worker costs ~15 s instead of ~35 s of the CI budget; and a shorter resend: the
            # restored backup is minutes old, not a day, so its queued jobs' sent times are
            # recent and the broker (not restored) no longer holds them; and a shorter first
            # retry (creates whose answers were lost wait for it). Full run: defaults.
            **(
                {
                    "JOB_LEASE_S": 12,
                    "JOB_HEARTBEAT_S": 3,
                    "JOB_RESEND_AFTER_S": 30,
                    "JOB_RETRY_BASE_S": 5,
                }
                if args.quick
                else {}
            ),
        },
    )
    results = {}
    stack = None
    started = time.monotonic()
    try:
        stack = Stack(env)
        world = World(stack)
        ctx = Context(args, env, stack, world, args.seed, mount)
        for name in SCENARIOS:
            if name not in chosen:
                continue
            if name in NOT_RUN:
                results[name] = ("not_run", 0.0, [NOT_RUN[name]], {})
                continue
            begin = time.monotonic()
            try:
                outcome = globals()[f"scenario_{name}"](ctx)
            except Broken as exc:
                outcome = Outcome(False, 0.0, notes=[str(exc)])
            except Exception:  # noqa: BLE001 - a harness error is reported as broken, with its traceback
                outcome = Outcome(False, 0.0, notes=[traceback.format_exc(limit=6)])
            if outcome is None:
                only = "SQLite" if name == "disk_full" else "PostgreSQL + Redis"
                results[name] = ("not_run", 0.0, [f"{only} mode only"], {})
                continue
            state = "held" if outcome.held else "broken"
            results[name] = (state, outcome.recovery_s, outcome.notes, outcome.figures)
            print(f"# {name}: {state} in {time.monotonic() - begin:.0f} s", file=sys.stderr)
            for note in outcome.notes:
                print(f"#   {note}", file=sys.stderr)
            sys.stderr.flush()
    finally:
        if stack is not None:
            stack.stop()
        env.close()
        if mount:
            mount.close()
    print(f"mode: {'postgresql+redis' if args.postgres else 'sqlite+orm'}")
    print(f"seed: {args.seed}")
    print(f"quick: {str(args.quick).lower()}")
    print(f"job_lease_s: {os.environ.get('JOB_LEASE_S', '30 (default)')}")
    print(f"job_resend_after_s: {os.environ.get('JOB_RESEND_AFTER_S', '300 (default)')}")
    print(f"job_retry_base_s: {os.environ.get('JOB_RETRY_BASE_S', '30 (default)')}")
    for name, (_state, _, notes, _) in results.items():
        for note in notes:
            print(f"# {name}: {note}")
    for name, (state, recovery, _, figures) in results.items():
        print(f"scenario_{name}: {state}")
        if state != "not_run":
            print(f"recovery_s_{name}: {recovery:.1f}")
        for key, value in figures.items():
            print(f"{key}: {value}")
    ran = [r for r in results.values() if r[0] != "not_run"]
    print(f"scenarios_run: {len(ran)}")
    print(f"scenarios_not_run: {len(results) - len(ran)}")
    print(f"total_s: {time.monotonic() - started:.0f}")
    violations = sum(1 for r in ran if r[0] == "broken")
    print(f"violations: {violations}")
    print(f"max_recovery_s: {max((r[1] for r in ran), default=0.0):.1f}")
    return 1 if violations else 0  # CI fails on a broken invariant


if __name__ == "__main__":
    sys.exit(main())
