"""django-q2 tasks: thin, receive ids only."""

from integrations.services.webhooks import webhook_event_process


def webhook_event_process_task(event_id: int) -> None:
    webhook_event_process(event_id=event_id)
