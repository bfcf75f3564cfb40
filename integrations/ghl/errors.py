"""One error type for HighLevel failures, with subclasses by cause.

``permanent`` says whether retrying the same call can ever help; ``retry_after`` (seconds) says
when to try again for transient ones (the contract of :class:`portal.errors.PortalError`).
Messages never contain secrets.
"""

from typing import Any

from portal.errors import PortalError


class GhlError(PortalError):
    permanent = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        permanent: bool | None = None,
        retry_after: float | None = None,
        trace_id: str = "",
        operation_id: str = "",
    ) -> None:
        super().__init__(message, permanent=permanent)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.trace_id = trace_id
        self.operation_id = operation_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status:
            parts.append(f"HTTP {self.status}")
        if self.trace_id:
            parts.append(f"trace {self.trace_id}")
        return " · ".join(parts)


class GhlNotConnected(GhlError):
    """The connection is disconnected or needs re-auth: nothing is sent."""

    permanent = True


class GhlReauthRequired(GhlError):
    """HighLevel refused the refresh token (invalid_grant): someone must connect again."""

    permanent = True


class GhlTokenExpired(GhlError):
    """401 for an expired or invalid access token (refreshed once by the door)."""

    permanent = True


class GhlScopeError(GhlError):
    """401/403: the token is not authorised for this scope or resource."""

    permanent = True


class GhlNotFound(GhlError):
    permanent = True


class GhlInvalid(GhlError):
    """400/422: HighLevel rejected the request as sent."""

    permanent = True


class GhlRateLimited(GhlError):
    permanent = False


class GhlServerError(GhlError):
    permanent = False


class GhlNetworkError(GhlError):
    """Timeout, connection refused or reset: no (complete) answer came.

    ``sent`` is False only when the request provably never left (no connection was made).
    """

    permanent = False

    def __init__(self, message: str, *, sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.sent = sent


class GhlOutcomeUnknown(GhlError):
    """A request that is not safe to send twice may have reached HighLevel, but its answer was lost.

    The door does not send it again. Transient: the caller looks the record up by its natural key
    (and adopts it) before creating anything; only a look-up that proves absence creates.
    """

    permanent = False
    outcome_unknown = True


class GhlBadResponse(GhlError):
    """An answer that is not the JSON HighLevel promises (HTML error page, truncated body)."""

    permanent = False


def error_record_missing(exc: GhlError) -> bool:
    """HighLevel says the record does not exist: a 404, or (its habit where no 404 is
    documented) a 400 "<Kind> not found" (specs/highlevel/DEFECTS.md, error shapes)."""
    if isinstance(exc, GhlNotFound):
        return True
    return exc.status == 400 and "not found" in str(exc.message).lower()
