from integrations.admin import (  # noqa: F401  (registers the admins)
    apps, connections, jobs, subscriptions, synclog, webhooks,
)
