"""What the sync changed in each Rankr record, kept as :class:`rankr.models.RecordChange` rows.

The job that writes a record is not an argument of the record services (they sit below the job
layer): the job runner opens :func:`record_history_context` around its handler, and the writes
inside it are recorded with its job id.
"""

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from portal.bulk import JsonText, rows_insert_tuples
from rankr.models import RecordChange

VALUE_LIMIT = 300  # characters of one value kept in the history
_JOB: contextvars.ContextVar[int | None] = contextvars.ContextVar("rankr_history_job", default=None)


@contextmanager
def record_history_context(*, job_id: int | None) -> Iterator[None]:
    token = _JOB.set(job_id)
    try:
        yield
    finally:
        _JOB.reset(token)


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + "…"


def _created(values: dict[str, Any]) -> dict[str, list[Any]]:
    """A created record's changes: every written field, from nothing."""
    return {
        name: [None, value if type(value) is str and len(value) <= VALUE_LIMIT else _short(value)]
        for name, value in values.items()
    }


def record_changes_write(
    *,
    kind: str,
    location_id: int,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    mapping_version_id: int | None = None,
) -> None:
    """Record one change row per written record.

    ``before``: {ghl_id: {field: value}} of the rows as they were (missing: created);
    ``after``: {ghl_id: {field: value}} as written.
    """
    version_id = mapping_version_id
    job_id = _JOB.get()
    created, updated = RecordChange.Action.CREATED.value, RecordChange.Action.UPDATED.value
    rows = []
    for ghl_id, values in after.items():
        old = before.get(ghl_id)
        if old is None:
            action, changes = created, _created(values)
        else:
            action, changes = (
                updated,
                {
                    name: [_short(old.get(name)), _short(value)]
                    for name, value in values.items()
                    if old.get(name) != value
                },
            )
        # The values are None, booleans, numbers or text (_short): json.dumps as Django would.
        rows.append(
            (location_id, kind, ghl_id, action, JsonText(json.dumps(changes)), job_id, version_id)
        )
    rows_insert_tuples(model=RecordChange, columns=_COLUMNS, rows=rows)


_COLUMNS = ("location_id", "kind", "ghl_id", "action", "changes", "job_id", "mapping_version_id")


def record_deletion_write(*, kind: str, location_id: int, ghl_id: str) -> None:
    RecordChange.objects.create(
        location_id=location_id,
        kind=kind,
        ghl_id=ghl_id,
        action=RecordChange.Action.DELETED,
        job_id=_JOB.get(),
    )
