"""Webhooks out: record an event, then POST it, signed, to every installed app's webhook URL.

Call :func:`webhook_emit` when a resource changes. Delivery happens after the surrounding
transaction commits, on a small thread pool, so the API answer never waits for a receiver.
"""

import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

import requests
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sandbox.access.models import Installation, SandboxLocation, WebhookDelivery, WebhookEvent
from sandbox.access.services.event_scopes import event_allowed
from sandbox.access.services.signing import webhook_sign

logger = logging.getLogger(__name__)

TIMEOUT = (3, 10)  # connect, read seconds
MAX_ATTEMPTS = 3
RETRY_STATUSES = {429, 500, 502, 503, 504}

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sandbox-webhook")
_pending = set()
_pending_lock = threading.Lock()


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@transaction.atomic
def webhook_emit(
    *,
    location_id: str = "",
    event_type: str,
    payload: dict,
    company_id: str = "",
    app_ids: list[int] | None = None,
) -> WebhookEvent:
    """Record ``event_type`` for ``location_id`` (or, company-level, ``company_id`` alone) and
    deliver it after commit.

    Receivers: apps installed on the location or on its agency, with a webhook URL and the
    event's scope (services/event_scopes.py); ``app_ids`` narrows them to the apps an event is
    about (INSTALL, UNINSTALL, PLAN_CHANGE go only to their own app).

    The body is ``payload`` plus HighLevel's envelope: ``type``, ``locationId`` (location events
    only: the docs' agency-level examples have none), ``timestamp`` and ``webhookId``
    (docs/webhook events/*.md, docs/oauth/WebhookAuthentication.md).
    """
    webhook_id = str(uuid.uuid4())
    envelope = (
        {"type": event_type, "locationId": location_id} if location_id else {"type": event_type}
    )
    body = {**envelope, **payload, "timestamp": _timestamp(), "webhookId": webhook_id}
    event = WebhookEvent.objects.create(
        webhook_id=webhook_id,
        location_id=location_id,
        event_type=event_type,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
    )
    if location_id:
        company_id = company_id or (
            SandboxLocation.objects.filter(location_id=location_id)
            .values_list("company__company_id", flat=True)
            .first()
        )
        where = Q(location__location_id=location_id) | Q(
            location=None, company__company_id=company_id
        )
    else:
        where = Q(company__company_id=company_id)
    installs = Installation.objects.filter(where).exclude(app__webhook_url="").select_related("app")
    if app_ids is not None:
        installs = installs.filter(app_id__in=app_ids)
    apps = {
        install.app_id: install.app
        for install in installs
        if event_allowed(event_type=event_type, app_scopes=install.app.scope_set)
    }
    ids = [
        WebhookDelivery.objects.create(event=event, app=app, url=app.webhook_url).pk
        for app in apps.values()
    ]
    for delivery_id in ids:
        transaction.on_commit(lambda delivery_id=delivery_id: _submit(delivery_id))
    return event


def webhook_deliveries_resend(*, delivery_ids: list[int]) -> int:
    """Queue deliveries again (after commit), e.g. ones left pending by a stopped process."""
    ids = list(WebhookDelivery.objects.filter(pk__in=delivery_ids).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(status=WebhookDelivery.PENDING)
    for delivery_id in ids:
        transaction.on_commit(lambda delivery_id=delivery_id: _submit(delivery_id))
    return len(ids)


def _submit(delivery_id: int) -> None:
    future = _executor.submit(_deliver_in_thread, delivery_id)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future) -> None:
    with _pending_lock:
        _pending.discard(future)


def webhook_deliveries_wait(*, timeout: float = 30.0) -> bool:
    """Wait for deliveries already submitted in this process (tests, benchmarks). True if all done."""
    with _pending_lock:
        futures = set(_pending)
    _done, not_done = wait(futures, timeout=timeout)
    return not not_done


def _deliver_in_thread(delivery_id: int) -> None:
    try:
        webhook_deliver(delivery_id=delivery_id)
    except Exception:  # a thread has nobody to raise to: record it in the log
        logger.exception("Webhook delivery %s crashed", delivery_id)
    finally:
        connection.close()


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """POST one delivery, retrying 429/5xx/connection errors a few times; record the outcome."""
    delivery = WebhookDelivery.objects.select_related("event").get(pk=delivery_id)
    body = delivery.event.body.encode()
    headers = {"Content-Type": "application/json", **webhook_sign(body=body)}
    started = time.monotonic()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        delivery.attempts = attempt
        try:
            response = requests.post(delivery.url, data=body, headers=headers, timeout=TIMEOUT)
            delivery.response_status = response.status_code
            delivery.error = "" if response.ok else response.text[:500]
            retry = response.status_code in RETRY_STATUSES
            ok = response.ok
        except requests.RequestException as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"[:500]
            retry, ok = True, False
        if ok or not retry or attempt == MAX_ATTEMPTS:
            break
        time.sleep(0.5 * attempt)
    delivery.status = WebhookDelivery.DELIVERED if ok else WebhookDelivery.FAILED
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    delivery.finished_at = timezone.now()
    delivery.save()
    return delivery
