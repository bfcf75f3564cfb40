from sandbox.access.models.faults import FaultRule
from sandbox.access.models.limits import RateCounter
from sandbox.access.models.oauth import (
    AuthorizationCode,
    Installation,
    MarketplaceApp,
    SandboxCompany,
    SandboxLocation,
    Token,
)
from sandbox.access.models.webhooks import WebhookDelivery, WebhookEvent, WebhookKey

__all__ = [
    "AuthorizationCode",
    "FaultRule",
    "Installation",
    "MarketplaceApp",
    "RateCounter",
    "SandboxCompany",
    "SandboxLocation",
    "Token",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookKey",
]
