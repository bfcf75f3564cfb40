"""Every table of the integrations app, for Django and for the interfaces.

Each model lives with its layer: the door's in ``integrations.ghl.models``, the sync's in
``integrations.sync.models``. Code inside those layers imports from there (importing this
package would pull the upper layer's tables into the lower one, which the import contract refuses).
"""

from integrations.ghl.models import Connection, HighLevelApp, LocationMintBatch, RateBucket, SyncLog
from integrations.sync.models import (
    EntityCoverage,
    ErasureTombstone,
    Heartbeat,
    Job,
    JobAttempt,
    SpecDeviation,
    Subscription,
    SubscriptionSeen,
    Verification,
    WebhookEvent,
)

__all__ = [
    "Connection",
    "EntityCoverage",
    "ErasureTombstone",
    "Heartbeat",
    "HighLevelApp",
    "Job",
    "JobAttempt",
    "LocationMintBatch",
    "RateBucket",
    "SpecDeviation",
    "Subscription",
    "SubscriptionSeen",
    "SyncLog",
    "Verification",
    "WebhookEvent",
]
