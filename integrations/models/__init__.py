from integrations.models.apps import HighLevelApp
from integrations.models.connections import Connection, LocationMintBatch
from integrations.models.jobs import Job, JobAttempt
from integrations.models.ratelimit import RateBucket
from integrations.models.subscriptions import Subscription, SubscriptionSeen
from integrations.models.synclog import SyncLog
from integrations.models.webhooks import WebhookEvent

__all__ = [
           "Connection",
           "HighLevelApp",
           "Job",
           "JobAttempt",
           "LocationMintBatch",
           "RateBucket",
           "Subscription",
           "SubscriptionSeen",
           "SyncLog",
           "WebhookEvent",
]
