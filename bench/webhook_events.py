"""How fast signed HighLevel webhooks go from the portal's endpoint into Rankr records.

Throw-away database (SQLite, or a scratch database on ``--postgres URL``) and broker (the ORM
broker, or with ``--redis`` a redis-server of the bench's own); the portal's own webhook view
through Django's test client (no network, the whole middleware stack). The two halves are timed
apart, as they run apart in production:
  receive_per_s          deliveries verified, stored and queued, answered 200 (the endpoint)
  ack_p50_ms, ack_p99_ms percentiles of one first delivery's time to its answer (wall clock)
  receive_cpu_ms         CPU per first delivery (this process, plus on PostgreSQL the database
                         backends' CPU for its connections): load-independent, unlike the wall
  process_per_s          stored events processed as the worker does: the event's handler queued a
                         "webhook" job, the job maps and upserts the contact (queue transport
                         excluded)
  process_cpu_ms         CPU per processed event (as receive_cpu_ms)
  replays_per_s          the same deliveries again (same webhookId): answered, not stored twice
  replay_cpu_ms          CPU per replayed delivery
  rankr_rows             Rankr contacts after all of it (equals `contacts`: no duplicates)
Run: .venv/bin/python bench/webhook_events.py [--events 2000] [--contacts 500]
     [--postgres URL [--redis]] [--profile FILE]
(``--profile FILE`` writes cProfile stats (CPU time) of the receiving and of the processing to
FILE.receive and FILE.process, and their top lines to FILE.receive.txt, FILE.process.txt.)
"""

import argparse
import base64
import json
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sync_cost import BackendCpu, Meter, profiled
from sync_world import BenchEnvironment

KEY = ed25519.Ed25519PrivateKey.generate()
URL = "/integrations/webhooks/highlevel/"
LOCATION = "bench-loc"


def delivery(n, contacts, webhook_id):
    """Delivery ``n``, signed now (HighLevel refuses nothing older than 5 minutes: on a busy
    machine a run can outlast that, so each is made just before it is sent, its replay too)."""
    from django.utils import timezone

    c = n % contacts
    body = {
        "type": "ContactCreate" if n < contacts else "ContactUpdate",
        "locationId": LOCATION,
        "id": f"c{c:07d}",
        "email": f"person{c}@example.com",
        "firstName": f"First{c}",
        "lastName": f"Last{n}",
        "phone": f"(415) 555-{c % 10000:04d}",
        "tags": ["lead"],
        "timestamp": timezone.now().isoformat(),
        "webhookId": webhook_id,
    }
    raw = json.dumps(body).encode()
    return raw, base64.b64encode(KEY.sign(raw)).decode()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--postgres", help="A PostgreSQL server URL; a scratch database is made.")
    parser.add_argument("--redis", action="store_true", help="Broker on a redis-server of ours.")
    parser.add_argument("--profile", help="cProfile the receiving and the processing.")
    args = parser.parse_args()
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    env = BenchEnvironment(
        limits_off=False,
        postgres=args.postgres,
        redis=args.redis,
        extra={"SANDBOX_ENABLED": "false", "GHL_WEBHOOK_ED25519_PUBLIC_KEY": public_pem.decode()},
    )
    try:
        figures = run(args)
    finally:
        env.close()
    for key, value in figures.items():
        print(f"{key}: {value}")


def run(args):
    from django.test import Client

    from integrations.models import Job, WebhookEvent
    from integrations.sync.jobs import job_run
    from mappings.services import mapping_template_apply
    from portal.models import Agency, Location
    from rankr.models import Contact

    agency = Agency.objects.create(name="Bench", company_id="bench")
    location = Location.objects.create(agency=agency, location_id=LOCATION, name="Bench")
    mapping_template_apply(template_key="ghl_contact_upsert", location_id=location.pk, user_id=None)
    client = Client()
    webhook_ids = [str(uuid.uuid4()) for _ in range(args.events)]
    backends = BackendCpu()
    acks = []
    signing = [0.0, 0.0]  # the sender's CPU and wall making deliveries: not the portal's

    def send_all():
        for n, webhook_id in enumerate(webhook_ids):
            cpu, wall = time.process_time(), time.perf_counter()
            raw, signature = delivery(n, args.contacts, webhook_id)
            sent = time.perf_counter()
            signing[0] += time.process_time() - cpu
            signing[1] += sent - wall
            response = client.post(
                URL, raw, content_type="application/json", HTTP_X_GHL_SIGNATURE=signature
            )
            acks.append(time.perf_counter() - sent)
            assert response.status_code == 200, response.content

    def sending(meter):
        """The meter's figures without the deliveries' making."""
        cpu, wall = meter.cpu - signing[0], meter.wall - signing[1]
        signing[:] = [0.0, 0.0]
        return cpu, wall

    def process_all():
        # The intake made each event's job; the worker's work is running them.
        for job_id in Job.objects.order_by("pk").values_list("pk", flat=True):
            job_run(job_id=job_id)

    with Meter(backends) as meter:
        profiled(args.profile and args.profile + ".receive", send_all, timer=time.process_time)
    receive_cpu, receive_wall = sending(meter)
    first_acks, acks[:] = list(acks), []
    with Meter(backends) as process:
        profiled(args.profile and args.profile + ".process", process_all, timer=time.process_time)
    with Meter(backends) as meter:
        send_all()
    replay_cpu, replay_wall = sending(meter)

    n = args.events
    return {
        "database": "postgresql" if args.postgres else "sqlite",
        "broker": "redis" if args.redis else "orm",
        "events": n,
        "contacts": args.contacts,
        "jobs_not_succeeded": Job.objects.exclude(status="succeeded").count(),
        "stored_events": WebhookEvent.objects.count(),
        "rankr_rows": Contact.objects.count(),
        "receive_per_s": f"{n / receive_wall:.0f}",
        "receive_cpu_ms": f"{receive_cpu * 1000 / n:.2f}",
        "process_per_s": f"{n / process.wall:.0f}",
        "process_cpu_ms": f"{process.cpu * 1000 / n:.2f}",
        "replays_per_s": f"{n / replay_wall:.0f}",
        "replay_cpu_ms": f"{replay_cpu * 1000 / n:.2f}",
        "ack_p50_ms": f"{percentile(first_acks, 0.50) * 1000:.1f}",
        "ack_p99_ms": f"{percentile(first_acks, 0.99) * 1000:.1f}",
    }


if __name__ == "__main__":
    main()
