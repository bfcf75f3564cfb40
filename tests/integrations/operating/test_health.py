"""Heartbeats of the worker and the dispatcher: /healthz, the dashboard and /metrics report them."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse

from integrations.interfaces import health
from integrations.management.commands import dispatch
from integrations.models import Heartbeat
from integrations.sync.heartbeats import heartbeat_beat, heartbeat_worker_start
from integrations.sync.leases import db_now
from tests.integrations.operating.test_metrics import TOKEN, at, samples

WORKER, DISPATCHER = Heartbeat.Component.WORKER, Heartbeat.Component.DISPATCHER


def age(process, seconds):
    """Make ``process``'s last beat ``seconds`` old, as if it had stopped beating then."""
    Heartbeat.objects.filter(process=process).update(beat_at=db_now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_healthz_is_ok_while_the_worker_beats_and_needs_no_sign_in(client):
    heartbeat_beat(component=WORKER, process="host-a:101")
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["components"]["worker"]["status"] == "healthy"
    assert body["components"]["worker"]["required"] is True
    assert body["components"]["worker"]["live_processes"] == 1
    # Not required by default: a missing dispatcher is reported, and fails nothing.
    assert body["components"]["dispatcher"] == {
        "status": "missing",
        "required": False,
        "age_s": None,
        "live_processes": 0,
        "stale_processes": 0,
    }
    assert "host-a" not in response.content.decode()  # no host or process names to anyone


@pytest.mark.django_db
def test_a_stopped_worker_heartbeat_shows_stale_on_healthz_the_dashboard_and_metrics(
    client, settings, role_users
):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = True, TOKEN
    heartbeat_beat(component=WORKER, process="host-a:101")
    heartbeat_beat(component=DISPATCHER, process="host-a:102")
    age("host-a:101", settings.HEARTBEAT_STALE_S + 30)  # the worker stopped beating

    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    worker = body["components"]["worker"]
    assert worker["status"] == "stale" and worker["live_processes"] == 0
    assert worker["stale_processes"] == 1 and worker["age_s"] >= settings.HEARTBEAT_STALE_S + 30
    assert body["components"]["dispatcher"]["status"] == "healthy"

    client.force_login(role_users["superuser"])
    page = client.get(reverse("admin:index")).content.decode()
    row = page[page.index('data-component="worker"') :]
    row = row[: row.index("</tr>")]
    assert re.search(r"<td>9\d s ago</td>", row) and 'badge-bad">stale<' in row
    assert "host-a:101: 9" in row
    dispatcher_row = page[page.index('data-component="dispatcher"') :]
    assert "healthy" in dispatcher_row[: dispatcher_row.index("</tr>")]

    found = samples(
        client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    )
    assert at(found, "portal_component_up", component="worker") == 0
    assert at(found, "portal_component_up", component="dispatcher") == 1
    assert at(found, "portal_heartbeat_processes", component="worker", state="stale") == 1
    assert at(found, "portal_heartbeat_age_seconds", component="worker", host="host-a") >= 90

    heartbeat_beat(component=WORKER, process="host-a:101")  # it came back
    assert client.get(reverse("healthz")).status_code == 200


@pytest.mark.django_db
def test_the_dashboard_shows_processes_to_every_role_and_hosts_to_superusers_only(
    client, role_users
):
    heartbeat_beat(component=WORKER, process="host-a:101")
    for role in ("staff", "auditor", "support", "superuser"):
        client.force_login(role_users[role])
        page = client.get(reverse("admin:index")).content.decode()
        assert 'id="process-health"' in page, role
        assert ("host-a:101" in page) is (role == "superuser"), role


@pytest.mark.django_db
def test_one_live_worker_keeps_the_component_healthy_and_silent_ones_are_forgotten(settings):
    from integrations.sync.heartbeats import heartbeats_status

    heartbeat_beat(component=WORKER, process="host-a:1")
    heartbeat_beat(component=WORKER, process="host-b:2")
    heartbeat_beat(component=WORKER, process="host-c:3")
    age("host-a:1", settings.HEARTBEAT_STALE_S + 1)
    age("host-c:3", settings.HEARTBEAT_FORGET_S + 1)
    worker = {c.component: c for c in heartbeats_status()}["worker"]
    assert worker.status == "healthy" and (worker.live_processes, worker.stale_processes) == (1, 2)
    heartbeat_beat(component=WORKER, process="host-b:2")  # a live process forgets the long-silent
    assert set(Heartbeat.objects.values_list("process", flat=True)) == {"host-a:1", "host-b:2"}


@pytest.mark.django_db
def test_a_required_dispatcher_that_never_beat_fails_healthz(client, settings):
    settings.HEALTHZ_REQUIRED = ["worker", "dispatcher"]
    heartbeat_beat(component=WORKER, process="host-a:101")
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["components"]["dispatcher"]["status"] == "missing"


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(**_):
        raise OperationalError("could not connect to server: password=hunter22 refused")

    monkeypatch.setattr(health, "heartbeats_status", unreachable)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "database": "unreachable", "components": {}}
    assert "hunter22" not in response.content.decode()


@pytest.mark.django_db
def test_the_dispatcher_loop_beats_each_round(monkeypatch):
    rounds = []

    def sleep(_seconds):
        rounds.append(1)
        if len(rounds) == 2:
            raise KeyboardInterrupt  # stop the loop after two rounds

    monkeypatch.setattr(dispatch.time, "sleep", sleep)
    monkeypatch.setattr(dispatch, "close_old_connections", lambda: None)  # the test's connection
    with pytest.raises(KeyboardInterrupt):
        call_command("dispatch", "--loop", "--every", "0")
    beat = Heartbeat.objects.get(component=DISPATCHER)
    assert beat.beats == 2 and beat.process.endswith(f":{__import__('os').getpid()}")


@pytest.mark.django_db(transaction=True)
def test_a_spawned_worker_process_beats_from_its_own_thread(settings):
    from django_q.signals import post_spawn

    settings.HEARTBEAT_S = 1
    post_spawn.send(sender="django_q", proc_name="Process-1")  # as django-q2 does in a worker
    thread = heartbeat_worker_start()  # the same thread: one per process
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            beat = Heartbeat.objects.filter(component=WORKER).first()
            if beat is not None and beat.beats >= 2:
                break
            time.sleep(0.2)
        assert beat is not None and beat.beats >= 2
        assert Heartbeat.objects.filter(component=WORKER).count() == 1
    finally:
        thread.stop(timeout=60)  # a beat in progress (a busy database) finishes first
        assert not thread.is_alive()  # nothing of it outlives the test


@pytest.mark.django_db
def test_an_inline_task_run_starts_no_worker_heartbeat(q_sync):
    """django-q2's inline mode sends post_spawn from the caller's own process (here the test
    runner): that process is no worker, and a heartbeat thread left in it outlived the test."""
    from django_q.signals import post_spawn

    before = {thread.name for thread in threading.enumerate()}
    post_spawn.send(sender="django_q", proc_name="MainProcess")
    assert "worker-heartbeat" not in {t.name for t in threading.enumerate()} - before
    assert not Heartbeat.objects.exists()
