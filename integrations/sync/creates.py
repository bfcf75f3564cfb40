"""Creates that cannot double: look up, adopt, and only on proven absence create.

Every job that creates something in HighLevel (Rankr events, *Run action* and its re-runs) sends
the create through :func:`create_once`:

- an operation that is safe to send again (``Operation.retry_safe``: an upsert HighLevel
  de-duplicates) is simply sent;
- otherwise, when the job's earlier attempt lost its answer (``result["outcome_unknown"]``) or the
  caller asks to look first, the record is looked up by its natural key
  (:data:`integrations.catalog.adopt.ADOPT`) and adopted when found; only a look-up that proves
  absence lets the create go out;
- the door never re-sends such a create itself: a lost answer raises ``GhlOutcomeUnknown``, which
  is recorded on the job (``outcome_unknown``) before the job is retried;
- a create with no natural-key look-up whose outcome is unknown is not sent again at all: a person
  checks HighLevel first (the error says so).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.catalog.adopt import ADOPT, LookupInconclusive
from integrations.catalog.registry import operation_get
from integrations.catalog.services import operation_run
from integrations.ghl.errors import GhlOutcomeUnknown
from integrations.sync.jobs import job_checkpoint
from integrations.sync.models import Job
from integrations.sync.targets import EventError


class OutcomeUnresolvable(EventError):
    """The create may have reached HighLevel and nothing can look it up: a person must check."""


@dataclass(frozen=True)
class Created:
    ghl_id: str | None
    adopted: bool = False
    data: object = None
    status: int | None = None
    trace_id: str = ""


def create_once(
    *,
    job: Job,
    connection_id: int,
    operation_id: str,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    look_first: bool = False,
) -> Created:
    """Send ``operation_id`` for ``job`` so that it creates at most one record in HighLevel."""
    operation = operation_get(operation_id)
    adopt = ADOPT.get(operation.key)
    if not operation.retry_safe and (look_first or job.result.get("outcome_unknown")):
        if adopt is None:
            raise OutcomeUnresolvable(
                f"{operation.key} may already have been done in HighLevel (its answer was lost) "
                "and HighLevel offers no look-up for it: check in HighLevel, then run it again "
                "from the catalog's Run action form if it is missing."
            )
        try:
            found = adopt.find(connection_id=connection_id, body=body, job_id=job.pk)
        except LookupInconclusive as exc:
            raise EventError(f"Cannot tell whether it already exists in HighLevel: {exc}") from None
        if found is not None:
            job_checkpoint(
                job=job,
                result={"outcome_unknown": False, "adopted": True, "ghl_id": found.get("id")},
            )
            return Created(ghl_id=found.get("id"), adopted=True, data=found)
    try:
        response = operation_run(
            connection_id=connection_id,
            operation_id=operation.key,
            params=params,
            body=body,
            job_id=job.pk,
        )
    except GhlOutcomeUnknown:
        job_checkpoint(job=job, result={"outcome_unknown": True})
        raise
    if job.result.get("outcome_unknown"):
        job_checkpoint(job=job, result={"outcome_unknown": False})
    ghl_id = adopt.id_of(response.data) if adopt else None
    return Created(
        ghl_id=ghl_id, data=response.data, status=response.status, trace_id=response.trace_id
    )
