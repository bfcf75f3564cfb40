"""The sync's tables: jobs, polling subscriptions (and what they have seen), webhook events in."""

from integrations.sync.models.erasure import ErasureTombstone
from integrations.sync.models.heartbeats import Heartbeat
from integrations.sync.models.jobs import Job, JobAttempt
from integrations.sync.models.subscriptions import EntityCoverage, Subscription, SubscriptionSeen
from integrations.sync.models.verification import SpecDeviation, Verification
from integrations.sync.models.webhooks import WebhookEvent

__all__ = [
    "EntityCoverage",
    "ErasureTombstone",
    "Heartbeat",
    "Job",
    "JobAttempt",
    "SpecDeviation",
    "Subscription",
    "SubscriptionSeen",
    "Verification",
    "WebhookEvent",
]
