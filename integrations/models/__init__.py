from integrations.models.webhooks import WebhookEvent

__all__ = ["WebhookEvent"]
