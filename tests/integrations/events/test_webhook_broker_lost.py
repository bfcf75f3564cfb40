"""The broker (a Redis server of the test's own, on a free port) stops while webhooks arrive: the
endpoint (gunicorn) answers 429 or 200, never 500; when the broker comes back (empty: what it
held is lost), every stored event is processed exactly once, by a real qcluster, through the
retried deliveries and the tick's sweep."""

import base64
import json
import shutil
import subprocess
import sys
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.utils import timezone

from integrations.models import Job, JobAttempt, WebhookEvent
from rankr.models import Contact
from tests.integrations.childproc import ROOT, child_env
from tests.integrations.subscriptions.test_e2e_sandbox import Child, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
EVENTS = 60


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                [shutil.which("redis-cli") or "redis-cli", "-p", str(self.port), "ping"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def world(key, location, templates):
    from django_q.conf import Conf  # noqa: F401 - the test's own process never enqueues

    redis = Redis()
    redis.start()
    web_port = free_port()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    env = child_env(
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        SANDBOX_ENABLED="false",
        GHL_WEBHOOK_ED25519_PUBLIC_KEY=pem.replace("\n", "\\n"),
        JOB_RESEND_AFTER_S=5,
        Q_CLUSTER_NAME="webhooks-broker-lost",
        Q_WORKERS=2,
        LOG_LEVEL="ERROR",
    )
    gunicorn = str(ROOT / ".venv/bin/gunicorn")
    children = [
        Child(
            [
                gunicorn,
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ],
            env,
        ),
        Child([sys.executable, "manage.py", "qcluster"], env),
        Child([sys.executable, "manage.py", "dispatch", "--loop", "--every", "1"], env),
    ]
    url = f"http://127.0.0.1:{web_port}/integrations/webhooks/highlevel/"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=5)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, children[0].output()
            time.sleep(0.3)
    yield redis, url
    for child in reversed(children):
        child.stop()
        print(" ".join(child.proc.args[:3]), child.output(), sep="\n")
    redis.stop()


def deliver(url, key, n):
    raw = json.dumps(
        {
            "type": "ContactCreate",
            "locationId": "loc-1",
            "id": f"c-{n}",
            "email": f"p{n}@example.com",
            "firstName": f"P{n}",
            "timestamp": timezone.now().isoformat(),
            "webhookId": f"wh-{n}",
        }
    ).encode()
    signature = base64.b64encode(key.sign(raw)).decode()
    try:
        return requests.post(
            url,
            data=raw,
            timeout=30,
            headers={"content-type": "application/json", "x-ghl-signature": signature},
        ).status_code
    except requests.ConnectionError:
        return "no answer"


def test_the_broker_stops_while_webhooks_arrive_and_nothing_is_dropped(world, key):
    redis, url = world
    answers = {}
    for n in range(EVENTS):
        if n == 20:
            redis.stop()  # the broker goes away mid-stream
        if n == 40:
            redis.start()  # back, empty: whatever it held is gone
        answers[n] = deliver(url, key, n)
        time.sleep(0.05)
    assert set(answers.values()) <= {200, 429}, answers
    refused = [n for n, status in answers.items() if status == 429]
    assert refused, "the broker outage was not seen"
    # HighLevel retries the 429s (same webhookId), with backoff.
    for _ in range(5):
        time.sleep(2)
        refused = [n for n in refused if deliver(url, key, n) == 429]
        if not refused:
            break
    assert not refused
    deadline = time.monotonic() + 120
    # An event is marked processed inside its job; the job records its own outcome just after.
    while (
        WebhookEvent.objects.filter(status="processed").count() < EVENTS
        or Job.objects.filter(kind="webhook", status__in=("queued", "running")).exists()
    ):
        assert time.monotonic() < deadline, list(
            Job.objects.exclude(status="succeeded").values(
                "pk", "status", "sent_at", "error_message"
            )
        )
        time.sleep(1)
    # Every event stored once, processed once: one job each, one successful attempt each.
    assert WebhookEvent.objects.exclude(status="rejected").count() == EVENTS
    assert Job.objects.filter(kind="webhook", status="succeeded").count() == EVENTS
    assert JobAttempt.objects.filter(job__kind="webhook").count() == EVENTS
    assert set(JobAttempt.objects.values_list("outcome", flat=True)) == {"succeeded"}
    assert Contact.objects.filter(deleted_at__isnull=True).count() == EVENTS
