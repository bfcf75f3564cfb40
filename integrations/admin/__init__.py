from integrations.admin import webhooks  # noqa: F401
