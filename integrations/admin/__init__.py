from integrations.admin import (  # noqa: F401  (registers the admins)
    apps,
    batches,
    connections,
    job_attempts,
    jobs,
    mapping_templates,
    mappings,
    quarantine,
    rankr,
    subscriptions,
    synclog,
    webhooks,
)
