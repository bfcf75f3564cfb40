"""How fast signed HighLevel webhooks go from the portal's endpoint into Rankr records.

Throw-away SQLite database and ORM broker; the portal's own webhook view through Django's test
client (no network). The two halves are timed apart, as they run apart in production:
  receive_per_s   deliveries verified, stored and queued, answered 200 (the endpoint)
  ack_p99_ms      99th percentile of one first delivery's time to its answer (wall clock)
  process_per_s   stored events processed as the worker does: the event's handler queues a
                  "webhook" job, the job maps and upserts the contact (queue transport excluded)
  replays_per_s   the same deliveries again (same webhookId): answered, not stored twice
  rankr_rows      Rankr contacts after all of it (equals `contacts`: no duplicates)
"""

import base64
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory()
KEY = ed25519.Ed25519PrivateKey.generate()
os.environ.setdefault("SQLITE_PATH", str(Path(TMP.name) / "bench.sqlite3"))
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("PORTAL_ENV", "test")  # DEBUG off outside a test run is production
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["SANDBOX_ENABLED"] = "false"
os.environ["GHL_WEBHOOK_ED25519_PUBLIC_KEY"] = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
CONTACTS = int(os.environ.get("BENCH_CONTACTS", "500"))
URL = "/integrations/webhooks/highlevel/"


def delivery(n):
    from django.utils import timezone

    c = n % CONTACTS
    body = {
        "type": "ContactCreate" if n < CONTACTS else "ContactUpdate",
        "locationId": "bench-loc",
        "id": f"c{c:07d}",
        "email": f"person{c}@example.com",
        "firstName": f"First{c}",
        "lastName": f"Last{n}",
        "phone": f"(415) 555-{c % 10000:04d}",
        "tags": ["lead"],
        "timestamp": timezone.now().isoformat(),
        "webhookId": str(uuid.uuid4()),
    }
    raw = json.dumps(body).encode()
    return raw, base64.b64encode(KEY.sign(raw)).decode()


def main():
    if "DATABASE_URL" in os.environ:
        raise SystemExit("Run on the throw-away SQLite database: unset DATABASE_URL.")
    call_command("migrate", verbosity=0)
    from django.test import Client
    from django_q.conf import Conf

    from integrations.models import Job, WebhookEvent
    from integrations.sync.jobs import job_run
    from mappings.services import mapping_template_apply
    from portal.models import Agency, Location
    from rankr.models import Contact

    Conf.SYNC = False  # the ORM broker queues; the timed processing below is the worker's work
    agency = Agency.objects.create(name="Bench", company_id="bench")
    location = Location.objects.create(agency=agency, location_id="bench-loc", name="Bench")
    mapping_template_apply(template_key="ghl_contact_upsert", location_id=location.pk, user_id=None)
    client = Client()
    deliveries = [delivery(n) for n in range(EVENTS)]

    acks = []

    def send(raw, signature):
        sent = time.perf_counter()
        response = client.post(
            URL, raw, content_type="application/json", HTTP_X_GHL_SIGNATURE=signature
        )
        acks.append(time.perf_counter() - sent)
        assert response.status_code == 200, response.content

    start = time.perf_counter()
    for raw, signature in deliveries:
        send(raw, signature)
    receive_s = time.perf_counter() - start
    ack_p99_ms = sorted(acks)[int(len(acks) * 0.99) - 1] * 1000

    start = time.perf_counter()
    # The intake made each event's job; the worker's work is running them.
    for job_id in Job.objects.order_by("pk").values_list("pk", flat=True):
        job_run(job_id=job_id)
    process_s = time.perf_counter() - start

    start = time.perf_counter()
    for raw, signature in deliveries:
        send(raw, signature)
    replays_s = time.perf_counter() - start

    print(f"events: {EVENTS}")
    print(f"contacts: {CONTACTS}")
    print(f"jobs_not_succeeded: {Job.objects.exclude(status='succeeded').count()}")
    print(f"stored_events: {WebhookEvent.objects.count()}")
    print(f"rankr_rows: {Contact.objects.count()}")
    print(f"receive_per_s: {EVENTS / receive_s:.0f}")
    print(f"ack_p99_ms: {ack_p99_ms:.1f}")
    print(f"process_per_s: {EVENTS / process_s:.0f}")
    print(f"replays_per_s: {EVENTS / replays_s:.0f}")


if __name__ == "__main__":
    main()
