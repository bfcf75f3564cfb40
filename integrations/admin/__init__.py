from integrations.admin import apps, connections, synclog, webhooks  # noqa: F401  (registers the admins)
