"""Webhooks in: verify, store once with its job, answer fast; processing happens in the worker.

HighLevel retries a webhook only when it gets a 429: whatever keeps an event from being stored or
queued answers 429, never 500. An event we fail to process is not sent again: polling stays on as
reconciliation, and a stored event can be re-processed.
"""

import logging
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.ghl.models import Connection, HighLevelApp
from integrations.ghl.webhooks import (
    VerifiedWebhook,
    WebhookKeys,
    WebhookRejected,
    docs_rsa_public_key,
    webhook_verify,
)
from integrations.sync.jobs import job_send, job_send_in_transaction
from integrations.sync.lifecycle import LIFECYCLE_HANDLERS
from integrations.sync.models import Job, WebhookEvent
from integrations.sync.targets import EventError
from integrations.sync.webhook_events import EVENT_HANDLERS as RECORD_EVENT_HANDLERS
from integrations.sync.webhook_events import LocationUnknown
from portal.models import Location

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # the default of settings.WEBHOOK_MAX_BODY_BYTES
# Deliveries that fail verification are counted per minute (in the cache) and only the first
# WEBHOOK_REJECTED_SAMPLES of each minute are stored: a flood of forged requests cannot fill the table.
REJECTED_COUNT_KEY = "integrations:webhooks-rejected:{minute}"
RETRY_AFTER_S = 30  # what a 429 asks HighLevel to wait
SANDBOX_KEYS_CACHE = "integrations:sandbox-webhook-keys"
SANDBOX_KEYS_REFETCHED = "integrations:sandbox-webhook-keys-refetched"
SANDBOX_KEYS_REFETCH_S = 30

# Event types the sync processes: those the entity modules declare (a live view of the registry),
# under any set here. Anything else is stored and ignored. Each handler is called in the intake's
# transaction and returns the event's job (not sent) or None: type -> callable(event) -> Job | None.
EVENT_HANDLERS: ChainMap[str, Callable[[WebhookEvent], Job | None]] = ChainMap(
    {},
    LIFECYCLE_HANDLERS,  # type: ignore[arg-type]  # read-only here, like the registry view below
    RECORD_EVENT_HANDLERS,  # type: ignore[arg-type]  # ChainMap writes only to maps[0]; the view behind it is read-only
)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    message: str
    event_id: int | None = None
    retry_after: int | None = None


def webhook_live_keys() -> WebhookKeys:
    """HighLevel's keys: current then next per scheme; RSA defaults to the docs' published key."""
    return WebhookKeys(
        ed25519=(
            settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY,
            settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY_NEXT,
        ),
        rsa=(
            settings.GHL_WEBHOOK_RSA_PUBLIC_KEY or docs_rsa_public_key(),
            settings.GHL_WEBHOOK_RSA_PUBLIC_KEY_NEXT,
        ),
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
            keys = WebhookKeys(
                ed25519=tuple(data.get("ed25519_keys") or [data.get("ed25519", "")]),
                rsa=tuple(data.get("rsa_keys") or [data.get("rsa", "")]),
            )
        except (requests.RequestException, ValueError, AttributeError) as exc:
            logger.warning("sandbox webhook keys unavailable: %s", exc.__class__.__name__)
            return None
        cache.set(SANDBOX_KEYS_CACHE, keys, 600)
    return keys


def _verify(*, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> VerifiedWebhook:
    try:
        return _verify_with(webhook_keysets(), raw_body=raw_body, headers=headers, now=now)
    except WebhookRejected:
        # The sandbox may have rotated its key since we cached its list: fetch the list again,
        # at most once per SANDBOX_KEYS_REFETCH_S (a flood of forgeries cannot make us fetch more),
        # and verify again only if it changed.
        if not settings.SANDBOX_ENABLED or not cache.add(
            SANDBOX_KEYS_REFETCHED, True, SANDBOX_KEYS_REFETCH_S
        ):
            raise
        cached = cache.get(SANDBOX_KEYS_CACHE)
        cache.delete(SANDBOX_KEYS_CACHE)
        fresh = sandbox_webhook_keys()
        if fresh is None or fresh == cached:
            if cached is not None:
                cache.set(SANDBOX_KEYS_CACHE, cached, 600)
            raise
        return _verify_with(webhook_keysets(), raw_body=raw_body, headers=headers, now=now)


def _verify_with(
    keysets: list[WebhookKeys], *, raw_body: bytes, headers: Mapping[str, str], now: datetime
) -> VerifiedWebhook:
    first_error: WebhookRejected | None = None
    for position, keys in enumerate(keysets):
        try:
            verified = webhook_verify(raw_body=raw_body, headers=headers, keys=keys, now=now)
        except WebhookRejected as exc:
            first_error = first_error or exc
            continue
        if position > 0 and not sandbox_connected(verified):  # the sandbox's keys, not HighLevel's
            raise WebhookRejected(
                "signed by the sandbox, but no sandbox-mode connection holds its location or company"
            )
        return verified
    raise first_error or WebhookRejected("no webhook keys configured")


def sandbox_connected(verified: VerifiedWebhook) -> bool:
    """Whether a sandbox-mode connection holds the event's location (or company): the sandbox's
    signature is trusted for those and nothing else."""
    company_id = str(verified.payload.get("companyId") or "")
    holders = (
        Q(location__location_id=verified.location_id) if verified.location_id else Q(pk__in=[])
    )
    if company_id:
        holders |= Q(agency__company_id=company_id)
    try:
        return Connection.objects.filter(holders, app__mode=HighLevelApp.Mode.SANDBOX).exists()
    except DatabaseError:  # cannot tell: not trusted (only the sandbox signs with these keys)
        return False


def webhook_receive(*, raw_body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
    """Verify, store and queue one delivery. Never processes it inline.

    HighLevel retries a delivery only when it gets a 429, so whatever keeps us from storing the
    event or queueing its job (database or broker down) answers 429 with a Retry-After, never
    500. An event stored whose job the broker did not take is still queued on record: a retried
    delivery (same webhookId) sends it again, and the tick sends it after ``JOB_RESEND_AFTER_S``.
    """
    if len(raw_body) > settings.WEBHOOK_MAX_BODY_BYTES:
        webhook_rejection_count(reason="body too large", store=False)
        return WebhookAnswer(413, "body too large")
    try:
        verified = _verify(raw_body=raw_body, headers=headers, now=timezone.now())
    except WebhookRejected as exc:
        try:
            webhook_rejection_count(reason=exc.reason)
        except DatabaseError:
            logger.warning("rejected webhook not recorded: the database is unavailable")
        return WebhookAnswer(401, exc.reason)

    handler = EVENT_HANDLERS.get(verified.event_type)
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                webhook_id=verified.webhook_id,
                event_type=verified.event_type,
                highlevel_location_id=verified.location_id,
                location_id=Location.objects.filter(location_id=verified.location_id)
                .values_list("pk", flat=True)
                .first(),
                scheme=verified.scheme,
                payload=verified.payload,
                status=WebhookEvent.Status.RECEIVED if handler else WebhookEvent.Status.IGNORED,
            )
            job = _event_hand_over(event, handler) if handler else None
            # One commit stores the event and its job, queued (a queue in the database) or
            # marked sent (any other broker gets it right after the commit).
            sending = job_send_in_transaction(job_id=job.pk) if job is not None else "sent"
    except IntegrityError:
        return _duplicate_answer(webhook_id=verified.webhook_id)
    except DatabaseError as exc:
        logger.warning(
            "webhook %s not stored (%s): answering 429", verified.webhook_id, exc.__class__.__name__
        )
        return WebhookAnswer(429, "not stored: try again", retry_after=RETRY_AFTER_S)
    if (
        job is not None
        and sending != "sent"
        and not job_send(job_id=job.pk, marked=sending == "marked")
    ):
        return WebhookAnswer(
            429, "stored, not queued: try again", event.pk, retry_after=RETRY_AFTER_S
        )
    return WebhookAnswer(200, "accepted" if handler else "stored; type not handled", event.pk)


def webhook_rejection_count(*, reason: str, store: bool = True, now: datetime | None = None) -> int:
    """Count one rejected delivery in its minute; store it as a sample while the minute has room.

    Returns how many this minute so far. The first rejection of a minute also stores the
    previous minute's total when it went past the samples, so a flood leaves one row saying how
    big it was, not one row per request.
    """
    now = now or timezone.now()
    minute = int(now.timestamp() // 60)
    key = REJECTED_COUNT_KEY.format(minute=minute)
    cache.add(key, 0, timeout=180)
    try:
        seen = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=180)
        seen = 1
    samples = settings.WEBHOOK_REJECTED_SAMPLES
    if seen == 1:
        before = cache.get(REJECTED_COUNT_KEY.format(minute=minute - 1)) or 0
        if before > samples:
            WebhookEvent.objects.create(
                status=WebhookEvent.Status.REJECTED,
                reason=f"{before} deliveries rejected in the minute before; {samples} kept as samples."[
                    :300
                ],
                payload={"rejected_count": before, "samples": samples},
            )
            logger.warning("webhooks: %s rejected deliveries in one minute", before)
    if store and seen <= samples:
        WebhookEvent.objects.create(status=WebhookEvent.Status.REJECTED, reason=reason[:300])
        logger.warning("webhook rejected: %s", reason)
    return seen


def _event_hand_over(
    event: WebhookEvent, handler: Callable[[WebhookEvent], Job | None]
) -> Job | None:
    """The handler's job for the event, made in the intake's transaction. An event the handler
    refuses (no such location yet, a payload without its record) is kept as failed, with why; one
    it dealt with at once (no job) is processed."""
    try:
        with transaction.atomic():
            job = handler(event)
    except DatabaseError:
        raise  # nothing stored: the delivery is answered 429 and comes again
    except LocationUnknown as exc:  # kept until its location is connected (webhook_events_release)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.WAITING, reason=str(exc)[:300]
        )
        return None
    except Exception as exc:  # EventError, or a bug: kept on the event, with why
        reason = str(exc) if isinstance(exc, EventError) else f"{exc.__class__.__name__}: {exc}"
        if not isinstance(exc, EventError):
            logger.exception("webhook %s: handler failed", event.webhook_id)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.FAILED, reason=reason[:300], processed_at=timezone.now()
        )
        return None
    if job is None:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now()
        )
    return job


def _duplicate_answer(*, webhook_id: str) -> WebhookAnswer:
    """A delivery already stored: acknowledged, and its job sent again if the broker never took it."""
    try:
        event = WebhookEvent.objects.exclude(status=WebhookEvent.Status.REJECTED).get(
            webhook_id=webhook_id
        )
        unsent = (
            Job.objects.filter(
                idempotency_key=f"webhook:{webhook_id}",
                status=Job.Status.QUEUED,
                sent_at__isnull=True,
            )
            .values_list("pk", flat=True)
            .first()
        )
    except (DatabaseError, WebhookEvent.DoesNotExist):
        return WebhookAnswer(429, "not confirmed: try again", retry_after=RETRY_AFTER_S)
    if unsent is not None and not job_send(job_id=unsent):
        return WebhookAnswer(
            429, "stored, not queued: try again", event.pk, retry_after=RETRY_AFTER_S
        )
    return WebhookAnswer(200, "duplicate webhookId: already received", event.pk)


def webhook_event_process(*, event_id: int) -> None:
    """Hand one stored event to its handler and send its job (events queued by an earlier
    release, and re-processing)."""
    event = WebhookEvent.objects.get(pk=event_id)
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED):
        return
    handler = EVENT_HANDLERS.get(event.event_type)
    if handler is None:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.IGNORED, processed_at=timezone.now()
        )
        return
    with transaction.atomic():
        job = _event_hand_over(event, handler)
    if job is not None:
        job_send(job_id=job.pk)


def webhook_events_release(*, limit: int = 500) -> int:
    """Apply the events that waited for their location, now that it is connected (the tick).

    An event for a location the portal did not know is kept *waiting*; once a location with that
    HighLevel id has an active connection, its events are handed to their handlers in the order
    they arrived. Returns how many were released.
    """
    connected = Connection.objects.filter(
        status=Connection.Status.ACTIVE, location__isnull=False
    ).values_list("location__location_id", flat=True)
    waiting = list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.WAITING, highlevel_location_id__in=connected
        ).order_by("received_at", "pk")[:limit]
    )
    for event in waiting:
        location = Location.objects.filter(location_id=event.highlevel_location_id).first()
        WebhookEvent.objects.filter(pk=event.pk).update(
            location=location, status=WebhookEvent.Status.RECEIVED, reason=""
        )
        webhook_event_process(event_id=event.pk)
    return len(waiting)
