"""The one error contract: every error a job can raise says whether retrying can help, and when.

``permanent``: True when the same call can never succeed (bad input, missing mapping, 404, 422,
needs re-auth); False when a later attempt may (429, 5xx, timeouts, a dependency not done yet).
``retry_after``: seconds to wait before the next attempt (None: the job runner's own backoff).
The job runner reads these two attributes and never looks at the class; an exception without them
(a bug) counts as permanent. Subclasses name the cause.
"""


class PortalError(Exception):
    permanent: bool = True
    retry_after: float | None = None

    def __init__(
        self, *args: object, permanent: bool | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(*args)
        if permanent is not None:
            self.permanent = permanent
        if retry_after is not None:
            self.retry_after = retry_after


def error_permanent(exc: BaseException) -> bool:
    """Whether retrying can never help: the error's word, or True for an error without one."""
    return bool(getattr(exc, "permanent", True))


def error_retry_after(exc: BaseException) -> float | None:
    """Seconds the error asks to wait before retrying (None: use the caller's backoff)."""
    retry_after = getattr(exc, "retry_after", None)
    return float(retry_after) if isinstance(retry_after, (int, float)) else None
