from integrations.admin import (  # noqa: F401  (registers the admins)
    apps,
    batches,
    connections,
    job_attempts,
    jobs,
    mapping_templates,
    mappings,
    rankr,
    subscriptions,
    synclog,
    webhooks,
)
