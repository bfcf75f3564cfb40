"""Log lines that say what they are about: the job, attempt, location and HighLevel trace id.

The job runner sets the job's ids for the run (:func:`log_context`), the door sets the trace id of
HighLevel's latest answer (:func:`log_trace_set`); both are context variables, so each thread (a
worker's job, a web request) carries its own. :class:`LogContextFilter` copies them onto every
record, and :class:`JsonFormatter` (``LOG_FORMAT=json``) writes one JSON object per line with
the message and traceback masked by the portal's redaction (bearer tokens, ``secret=...`` pairs);
:class:`PlainFormatter` (the default) masks its lines the same way.
"""

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from portal.redact import text_mask

CONTEXT_FIELDS = ("job_id", "job_kind", "attempt", "location_id", "trace_id")
_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("portal_log_fields", default=None)
_TRACE: ContextVar[str] = ContextVar("portal_log_trace", default="")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Name what the lines logged inside are about (on top of any outer context); the trace id
    starts empty inside and is restored after."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown log context field(s): {', '.join(sorted(unknown))}.")
    token = _FIELDS.set({**(_FIELDS.get() or {}), **fields})
    trace = _TRACE.set("")
    try:
        yield
    finally:
        _TRACE.reset(trace)
        _FIELDS.reset(token)


def log_trace_set(trace_id: str) -> None:
    """The trace id of HighLevel's latest answer in this context (empty: none). Kept only inside
    a :func:`log_context` (a job's run, a web request), so it never outlives its work."""
    if _FIELDS.get() is not None:
        _TRACE.set(trace_id or "")


def log_fields() -> dict[str, Any]:
    """The context's fields now (ids only, never secrets)."""
    fields = dict(_FIELDS.get() or {})
    trace = _TRACE.get()
    if trace:
        fields["trace_id"] = trace
    return fields


class LogContextFilter(logging.Filter):
    """Copies the context's ids onto each record (``record.job_id`` ..., None when unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = log_fields()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, fields.get(name))
        return True


_HOST = socket.gethostname()


class PlainFormatter(logging.Formatter):
    """The plain one-line format, masked as the JSON one is (a token logged by mistake)."""

    def format(self, record: logging.LogRecord) -> str:
        return text_mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process and the context's ids.

    The message and the traceback go through :func:`portal.redact.text_mask`: a token logged by
    mistake is masked on its way out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": text_mask(record.getMessage()),
            "process": f"{_HOST}:{os.getpid()}",
        }
        fields = log_fields()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = fields.get(name)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = text_mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = text_mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
