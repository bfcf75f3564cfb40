"""Personal-data erasure: a person on request, records deleted in HighLevel after a grace period.

``service.person_erase`` runs every store of ``stores.STORES`` (the registry of tables that may
hold a person's data); ``person.Person`` says how a row mentioning the person is found and masked.
"""

from integrations.sync.erasure.service import (
    Erasure,
    ErasureError,
    deleted_records_erase,
    deleted_records_erase_due,
    erasure_enqueue,
    erasure_job_run,
    identifier_hash,
    person_erase,
)
from integrations.sync.erasure.stores import STORES, Store, column_store, record_payload_store

__all__ = [
    "STORES",
    "Erasure",
    "ErasureError",
    "Store",
    "column_store",
    "deleted_records_erase",
    "deleted_records_erase_due",
    "erasure_enqueue",
    "erasure_job_run",
    "identifier_hash",
    "person_erase",
    "record_payload_store",
]
