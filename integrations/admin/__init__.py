from integrations.admin import apps, connections, jobs, synclog, webhooks  # noqa: F401  (registers the admins)
