"""What a handler receives (``Call``) and may return (``Reply``)."""

from dataclasses import dataclass, field

from sandbox.errors import ApiError
from sandbox.spec.registry import Operation
from sandbox.spec.requests import ValidRequest


@dataclass
class Reply:
    body: object
    status: int | None = None  # None: the operation's documented success status


@dataclass
class Call:
    request: object
    op: Operation
    valid: ValidRequest
    location_id: str = ""  # the location acted upon ("" for company-level calls)
    company_id: str = ""
    token_location_id: str = ""  # the location the bearer token is bound to, if any
    extra: dict = field(default_factory=dict)

    @property
    def query(self) -> dict:
        return self.valid.query

    @property
    def body(self) -> dict:
        return self.valid.body if isinstance(self.valid.body, dict) else {}

    def path(self, name: str) -> str:
        return self.valid.path.get(name, "")

    def check_location(self, location_id: str) -> None:
        """HighLevel's 403 for a resource of another location than the token's."""
        if self.token_location_id and location_id and location_id != self.token_location_id:
            raise ApiError(403, "The token does not have access to this location.")
