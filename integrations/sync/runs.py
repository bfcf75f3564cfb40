"""Running one operation from the admin: check, dry-run or send, and record who did it."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from integrations.catalog.calls import (
    FieldErrors,
    OperationInvalid,
    OperationRefused,
    PreparedCall,
    call_prepare,
)
from integrations.catalog.connections import ConnectionInfo
from integrations.catalog.registry import Operation
from integrations.catalog.services import call_send, operation_check
from integrations.sync.secrets import connection_secrets_get
from portal.models import AuditEvent, Location
from portal.redact import text_mask, value_redact

RESULT_TEXT_LIMIT = 20_000  # characters of the answer shown on the page


@dataclass
class RunResult:
    dry_run: bool
    request_text: str = ""
    status: int | None = None
    trace_id: str = ""
    body_text: str = ""
    error: str = ""
    field_errors: FieldErrors | None = None
    missing_scopes: tuple[str, ...] = ()
    job_id: int | None = None  # the "action" job a real run is recorded as

    @property
    def ok(self) -> bool:
        return not self.error and not self.field_errors


def operation_try(
    *,
    user: User | AnonymousUser,
    operation: Operation,
    connection: ConnectionInfo | None = None,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    dry_run: bool = True,
) -> RunResult:
    """Check, then dry-run or send ``operation`` on ``connection`` (a ConnectionInfo or None).

    Without a connection only a dry run is possible (no scopes to check, nothing to fill in).
    Refusals (scopes first) and spec violations come back in the result, never half-sent.
    """
    result = RunResult(dry_run=dry_run)
    try:
        if connection is None:
            if not dry_run:
                raise OperationRefused("Choose a connection to send the request.")
            call = call_prepare(operation=operation, params=params, body=body)
        else:
            call = operation_check(
                connection=connection, operation_id=operation.key, params=params, body=body
            )
    except OperationRefused as exc:
        result.error, result.missing_scopes = str(exc), exc.missing_scopes
        return result
    except OperationInvalid as exc:
        result.field_errors = exc.errors
        return result
    result.request_text = call.as_text()
    if not dry_run and connection is not None:  # (no connection: refused above)
        _send(result, connection=connection, call=call, user=user, params=params, body=body)
    _audit(user=user, operation=operation, connection=connection, result=result)
    return result


def _send(
    result: RunResult,
    *,
    connection: ConnectionInfo,
    call: PreparedCall,
    user: User | AnonymousUser,
    params: Mapping[str, Any] | None,
    body: Any,
) -> None:
    """Send, recorded as an "action" job (so it shows with the other jobs and can be re-run)."""
    from integrations.ghl.errors import GhlError, GhlOutcomeUnknown
    from integrations.sync.actions import (
        action_job_finish,
        action_job_outcome_unknown,
        action_job_start,
    )

    job = action_job_start(
        connection=connection,
        operation_key=call.operation,
        params=params,
        body=body,
        user_id=user.pk if isinstance(user, User) else None,
    )
    result.job_id = job.pk
    secrets = connection_secrets_get(connection_id=connection.id)
    try:
        response = call_send(connection_id=connection.id, call=call, job_id=job.pk)
    except GhlOutcomeUnknown as exc:
        # Never re-sent blind: the job looks the record up first and creates only if absent.
        result.status, result.trace_id = exc.status, exc.trace_id or ""
        result.error = action_job_outcome_unknown(job=job, error=exc)
        return
    except GhlError as exc:
        result.status, result.trace_id = exc.status, exc.trace_id or ""
        message = text_mask(str(exc), secrets=secrets)
        result.error = f"HighLevel refused the request: {message}"
        action_job_finish(
            job=job,
            status=exc.status,
            trace_id=result.trace_id,
            error_class=exc.__class__.__name__,
            error_message=message,
        )
        return
    result.status, result.trace_id = response.status, response.trace_id or ""
    action_job_finish(job=job, status=response.status, trace_id=result.trace_id)
    # HighLevel's answer may echo a token or hold secret-named fields: never on the page.
    text = json.dumps(
        value_redact(response.data, secrets=secrets), indent=2, sort_keys=True, default=str
    )
    result.body_text = text[:RESULT_TEXT_LIMIT] + ("\n…" if len(text) > RESULT_TEXT_LIMIT else "")


def _audit(
    *,
    user: User | AnonymousUser,
    operation: Operation,
    connection: ConnectionInfo | None,
    result: RunResult,
) -> None:
    location = None
    if connection is not None and connection.location_id:
        location = Location.objects.filter(location_id=connection.location_id).first()
    AuditEvent.objects.create(
        actor=user if isinstance(user, User) else None,
        action="catalog.dry_run" if result.dry_run else "catalog.run",
        location=location,
        target=operation.key,
        detail={
            "connection_id": connection.id if connection else None,
            "status": result.status,
            "trace_id": result.trace_id,
            "error": text_mask(result.error),
            "job_id": result.job_id,
        },
    )
