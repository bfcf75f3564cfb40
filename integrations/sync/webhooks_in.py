"""Webhooks in: verify, store once, answer fast; processing happens in the worker.

HighLevel retries a webhook only when it gets a 429, so an event we fail to process is not sent
again: polling stays on as reconciliation, and a stored event can be re-processed.
"""

import logging
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.ghl.webhooks import (
    VerifiedWebhook,
    WebhookKeys,
    WebhookRejected,
    docs_rsa_public_key,
    webhook_verify,
)
from integrations.sync.models import WebhookEvent
from integrations.sync.webhook_events import EVENT_HANDLERS as RECORD_EVENT_HANDLERS
from portal.models import Location

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SANDBOX_KEYS_CACHE = "integrations:sandbox-webhook-keys"

# Event types the sync processes (type -> callable(event) -> None): those the entity modules
# declare (a live view of the registry), under any set here. Anything else is stored and ignored.
EVENT_HANDLERS: ChainMap[str, Callable[[WebhookEvent], None]] = ChainMap(
    {}, RECORD_EVENT_HANDLERS  # type: ignore[arg-type]  # ChainMap writes only to maps[0]; the view behind it is read-only
)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    message: str
    event_id: int | None = None


def webhook_live_keys() -> WebhookKeys:
    """HighLevel's keys: current then next per scheme; RSA defaults to the docs' published key."""
    return WebhookKeys(
        ed25519=(settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY, settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY_NEXT),
        rsa=(settings.GHL_WEBHOOK_RSA_PUBLIC_KEY or docs_rsa_public_key(),
             settings.GHL_WEBHOOK_RSA_PUBLIC_KEY_NEXT),
    )


def webhook_keysets() -> list[WebhookKeys]:
    """Key sets that may sign webhooks: HighLevel's own, plus the sandbox's when it is on."""
    keysets = [webhook_live_keys()]
    if settings.SANDBOX_ENABLED:
        sandbox = sandbox_webhook_keys()
        if sandbox:
            keysets.append(sandbox)
    return keysets


def sandbox_webhook_keys() -> WebhookKeys | None:
    """The sandbox publishes its public keys; fetch once and cache them."""
    keys: WebhookKeys | None = cache.get(SANDBOX_KEYS_CACHE)
    if keys is None:
        try:
            response = requests.get(f"{settings.SANDBOX_BASE_URL}/webhook-keys", timeout=5)
            response.raise_for_status()
            data = response.json()
            keys = WebhookKeys(ed25519=tuple(data.get("ed25519_keys") or [data.get("ed25519", "")]),
                               rsa=tuple(data.get("rsa_keys") or [data.get("rsa", "")]))
        except (requests.RequestException, ValueError, AttributeError) as exc:
            logger.warning("sandbox webhook keys unavailable: %s", exc.__class__.__name__)
            return None
        cache.set(SANDBOX_KEYS_CACHE, keys, 600)
    return keys


def _verify(*, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> VerifiedWebhook:
    first_error: WebhookRejected | None = None
    for keys in webhook_keysets():
        try:
            return webhook_verify(raw_body=raw_body, headers=headers, keys=keys, now=now)
        except WebhookRejected as exc:
            first_error = first_error or exc
    raise first_error or WebhookRejected("no webhook keys configured")


def webhook_receive(*, raw_body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
    """Verify and store one delivery. Never processes it inline."""
    if len(raw_body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, "body too large")
    try:
        verified = _verify(raw_body=raw_body, headers=headers, now=timezone.now())
    except WebhookRejected as exc:
        WebhookEvent.objects.create(status=WebhookEvent.Status.REJECTED, reason=exc.reason[:300])
        logger.warning("webhook rejected: %s", exc.reason)
        return WebhookAnswer(401, exc.reason)

    handled = verified.event_type in EVENT_HANDLERS
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                webhook_id=verified.webhook_id,
                event_type=verified.event_type,
                highlevel_location_id=verified.location_id,
                location=Location.objects.filter(location_id=verified.location_id).first(),
                scheme=verified.scheme,
                payload=verified.payload,
                status=WebhookEvent.Status.RECEIVED if handled else WebhookEvent.Status.IGNORED,
            )
            if handled:
                transaction.on_commit(lambda: _enqueue_processing(event.pk))
    except IntegrityError:
        return WebhookAnswer(200, "duplicate webhookId: already received")
    return WebhookAnswer(200, "accepted" if handled else "stored; type not handled", event.pk)


def _enqueue_processing(event_id: int) -> None:
    from django_q.tasks import async_task

    async_task("integrations.interfaces.tasks.webhook_event_process_task", event_id)


def webhook_event_process(*, event_id: int) -> None:
    """Hand one stored event to its handler; record the outcome on the event."""
    event = WebhookEvent.objects.get(pk=event_id)
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED):
        return
    handler = EVENT_HANDLERS.get(event.event_type)
    if handler is None:
        event.status = WebhookEvent.Status.IGNORED
    else:
        try:
            handler(event)
            event.status = WebhookEvent.Status.PROCESSED
            event.reason = ""
        except Exception as exc:  # noqa: BLE001 (recorded on the event; re-processing is possible)
            event.status = WebhookEvent.Status.FAILED
            event.reason = f"{exc.__class__.__name__}: {exc}"[:300]
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "reason", "processed_at"])
