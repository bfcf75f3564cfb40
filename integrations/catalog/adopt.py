"""Natural-key look-ups for the creates HighLevel does not de-duplicate.

A create whose answer was lost may or may not have reached HighLevel. Before anything is created
again, the record is looked up by its natural key and, if found, adopted. Each look-up answers the
record found, or None only when it has *proved* absence (every page read, no match); a look-up
that cannot finish raises the door's error, so the caller tries again later and creates nothing.

``ADOPT`` is the one table: create operation -> how to find what it would have created.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from integrations.catalog.connections import connection_info_get
from integrations.catalog.registry import AGENCY
from portal.errors import PortalError

if TYPE_CHECKING:
    from integrations.ghl.client import GhlResponse

Record = dict[str, Any]  # a HighLevel record as its answer holds it

LOOKUP_PAGE = 100  # users per page asked of the user searches (HighLevel caps pages at 100)
LOOKUP_MAX_PAGES = 50  # a search by one email that pages this far is not a search: stop


class LookupInconclusive(PortalError):
    """The look-up could not prove presence or absence (e.g. the create body has no key):
    permanent, since asking again proves nothing more; a person decides."""

    permanent = True


def _run(
    *,
    connection_id: int,
    operation_id: str,
    params: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    job_id: int | None,
) -> "GhlResponse":
    from integrations.catalog.services import (
        operation_run,  # services imports this module's callers
    )

    return operation_run(
        connection_id=connection_id,
        operation_id=operation_id,
        params=params,
        body=body,
        job_id=job_id,
    )


def user_find_by_email(
    *, connection_id: int, email: str, job_id: int | None = None
) -> Record | None:
    """The HighLevel user with ``email`` (case-insensitive) the connection can see, or None.

    A location connection uses *Search Users* narrowed to its location and the email as the
    search term; an agency connection uses *Filter Users by Email* (agency tokens only). Every
    page is read before absence is concluded.
    """
    wanted = (email or "").strip().lower()
    if not wanted:
        raise LookupInconclusive("The user has no email to look it up by.")
    info = connection_info_get(connection_id=connection_id)
    for page in range(LOOKUP_MAX_PAGES):
        skip = str(page * LOOKUP_PAGE)
        if info.access == AGENCY:
            response = _run(
                connection_id=connection_id,
                operation_id="POST /users/search/filter-by-email",
                body={"emails": wanted, "skip": skip, "limit": str(LOOKUP_PAGE)},
                job_id=job_id,
            )
        else:
            response = _run(
                connection_id=connection_id,
                operation_id="GET /users/search",
                params={
                    "query": wanted,
                    "locationId": info.location_id,
                    "skip": skip,
                    "limit": str(LOOKUP_PAGE),
                },
                job_id=job_id,
            )
        data = response.data if isinstance(response.data, dict) else {}
        users = [u for u in data.get("users") or [] if isinstance(u, dict)]
        found = next((u for u in users if str(u.get("email", "")).strip().lower() == wanted), None)
        if found is not None:
            return found
        count = data.get("count")
        seen = (page + 1) * LOOKUP_PAGE
        if len(users) < LOOKUP_PAGE or (isinstance(count, (int, float)) and seen >= count):
            return None
    raise LookupInconclusive(
        f"Searching users for {wanted} did not end after {LOOKUP_MAX_PAGES} pages."
    )


def contact_find_duplicate(
    *, connection_id: int, email: str = "", phone: str = "", job_id: int | None = None
) -> Record | None:
    """The contact HighLevel's duplicate rule matches (email, else phone), or None."""
    if not (email or phone):
        raise LookupInconclusive("The contact has neither email nor phone to look it up by.")
    info = connection_info_get(connection_id=connection_id)
    params = {"locationId": info.location_id}
    if email:
        params["email"] = email
    if phone:
        params["number"] = phone
    response = _run(
        connection_id=connection_id,
        operation_id="GET /contacts/search/duplicate",
        params=params,
        job_id=job_id,
    )
    contact = (response.data or {}).get("contact") if isinstance(response.data, dict) else None
    return contact if isinstance(contact, dict) and contact.get("id") else None


class AdoptFind(Protocol):
    """The record a create's body would have made, or None when proved absent."""

    def __call__(
        self, *, connection_id: int, body: Mapping[str, Any] | None, job_id: int | None
    ) -> Record | None: ...


@dataclass(frozen=True)
class Adopt:
    natural_key: str  # for messages: what the record is recognised by
    find: AdoptFind
    id_of: Callable[[object], str | None]  # the new record's id in the create's answer


def _answer_id(key: str) -> Callable[[object], str | None]:
    def id_of(data: object) -> str | None:
        if not isinstance(data, dict):
            return None
        inner = data.get(key) if key else data
        value = inner.get("id") if isinstance(inner, dict) else None
        return value if isinstance(value, str) and value else None

    return id_of


ADOPT = {
    "POST /users/": Adopt(
        "email",
        lambda *, connection_id, body, job_id: user_find_by_email(
            connection_id=connection_id, email=str((body or {}).get("email") or ""), job_id=job_id
        ),
        _answer_id(""),
    ),
    "POST /contacts/": Adopt(
        "email or phone",
        lambda *, connection_id, body, job_id: contact_find_duplicate(
            connection_id=connection_id,
            email=str((body or {}).get("email") or ""),
            phone=str((body or {}).get("phone") or ""),
            job_id=job_id,
        ),
        _answer_id("contact"),
    ),
}
