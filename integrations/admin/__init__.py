from integrations.admin import apps, batches, connections, synclog  # noqa: F401  (registers the admins)
