"""The door's tables: HighLevel apps, connections (tokens), the shared rate limit, the sync log."""

from integrations.ghl.models.apps import HighLevelApp
from integrations.ghl.models.connections import Connection, LocationMintBatch
from integrations.ghl.models.ratelimit import RateBucket
from integrations.ghl.models.synclog import SyncLog

__all__ = ["Connection", "HighLevelApp", "LocationMintBatch", "RateBucket", "SyncLog"]
