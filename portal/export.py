"""CSV export of log tables: streamed in chunks, secrets masked, recorded in the audit trail.

The caller hands over the queryset the user may see (already scoped, filtered and searched); this
module only turns it into CSV lines without holding more than one chunk of rows in memory.
"""

import csv
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from portal.models import AuditEvent
from portal.redact import path_redact, text_mask, value_redact

CHUNK_ROWS = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def summary_mask(text: str, secrets=()) -> str:
    """A stored request/response summary, masked again: JSON by key, anything else by pattern."""
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text_mask(text, secrets=secrets)
    return text_mask(
        json.dumps(value_redact(data, secrets=secrets), ensure_ascii=False, default=str)
    )


def json_mask(value, secrets=()) -> str:
    if value in (None, "", {}, []):
        return ""
    return text_mask(
        json.dumps(value_redact(value, secrets=secrets), ensure_ascii=False, default=str)
    )


# Each cleaner takes the value and the secrets of the row's connection (masked by value too).
CLEANERS = {
    "plain": lambda v, secrets=(): v,
    "text": lambda v, secrets=(): text_mask(v or "", secrets=secrets),
    "path": lambda v, secrets=(): text_mask(path_redact(v or ""), secrets=secrets),
    "summary": summary_mask,
    "json": json_mask,
}


@dataclass(frozen=True)
class Column:
    header: str
    path: str  # ORM path for values_list (or the name of ``expression``)
    clean: str = "plain"  # a key of CLEANERS
    expression: object = (
        None  # an ORM expression annotated as ``path`` (e.g. a name built by joins)
    )


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # a spreadsheet must not run a cell as a formula
    return value


class _Echo:
    def write(self, value):
        return value


def csv_lines(*, queryset, columns, chunk_size=CHUNK_ROWS, secrets_for=None, max_rows=None):
    """Yield the CSV header and one line per row, reading ``chunk_size`` rows at a time.

    At most ``max_rows`` rows (``EXPORT_MAX_ROWS``); a cut export ends with a line saying so.

    ``secrets_for(connection_id)`` gives the secret values to mask in a row whose ``connection_id``
    column names a connection (looked up once per connection).
    """
    writer = csv.writer(_Echo())
    cleaners = [CLEANERS[c.clean] for c in columns]
    paths = [c.path for c in columns]
    at = paths.index("connection_id") if secrets_for and "connection_id" in paths else None
    known = {}
    yield writer.writerow([c.header for c in columns])
    computed = {c.path: c.expression for c in columns if c.expression is not None}
    if computed:
        queryset = queryset.annotate(**computed)
    limit = max_rows or settings.EXPORT_MAX_ROWS
    # One row past the limit tells a complete export from a cut one.
    rows = queryset.values_list(*paths)[: limit + 1].iterator(chunk_size=chunk_size)
    for number, row in enumerate(rows, start=1):
        if number > limit:
            yield writer.writerow(
                [f"# Export stopped after {limit} rows: narrow the filters for the rest."]
            )
            return
        secrets = ()
        if at is not None and row[at] is not None:
            if row[at] not in known:
                known[row[at]] = secrets_for(row[at])
            secrets = known[row[at]]
        yield writer.writerow(
            [_cell(clean(value, secrets)) for clean, value in zip(cleaners, row, strict=True)]
        )


def logs_export_record(*, user_id, model_label, query="", selected=None, location_id=None):
    """The audit trail entry for one export (written before the rows stream)."""
    return AuditEvent.objects.create(
        actor_id=user_id,
        action="logs.exported",
        location_id=location_id,
        target=f"{model_label} CSV"[:255],
        detail={"model": model_label, "query": query[:2000], "selected": selected},
    )


def connection_name_expression(prefix: str = "connection__"):
    """A connection's name as its page shows it ("Northside Dental via Rankr", "Acme (agency) via
    Rankr"), built in SQL so an export names connections, not database ids."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Coalesce, Concat

    return Concat(
        Coalesce(f"{prefix}location__name", Concat(f"{prefix}agency__name", Value(" (agency)"))),
        Value(" via "),
        f"{prefix}app__name",
        output_field=CharField(),
    )


def location_field_expression(field: str):
    """The row's own location's ``field``, else its connection's (OAuth calls carry no location)."""
    from django.db.models import CharField
    from django.db.models.functions import Coalesce

    return Coalesce(
        f"location__{field}", f"connection__location__{field}", output_field=CharField()
    )
