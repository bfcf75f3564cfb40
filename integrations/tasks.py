"""django-q2 tasks: thin, receive ids only."""

from integrations.services.onboarding import mint_batch_run


def mint_batch_task(batch_id: int) -> None:
    mint_batch_run(batch_id=batch_id)
