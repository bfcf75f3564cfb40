from integrations.admin import apps, connections, synclog  # noqa: F401  (registers the admins)
