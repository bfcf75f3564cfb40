from integrations.admin import apps, batches, connections, jobs, synclog, webhooks  # noqa: F401  (registers the admins)
