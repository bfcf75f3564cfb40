"""django-q2 entry points of the mappings app: thin, ids in."""

from mappings.quarantine import quarantine_retry


def quarantine_retry_task(mapping_id=None, quarantine_ids=None):
    return quarantine_retry(mapping_id=mapping_id, quarantine_ids=quarantine_ids)
