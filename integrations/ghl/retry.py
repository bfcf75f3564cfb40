"""Which HighLevel requests may be sent again after their answer was lost.

GET, HEAD, OPTIONS, PUT and DELETE are idempotent by HTTP's own definition (RFC 9110 §9.2.2):
sending them twice leaves HighLevel as sending them once. POST and PATCH are not, unless the
operation is in one of the reviewed tables below: POSTs that only read (searches), and creates
HighLevel itself de-duplicates. Any other POST whose answer was lost has an *unknown outcome*:
the door never re-sends it (``GhlOutcomeUnknown``); the caller looks the record up by its natural
key before creating anything (``integrations.catalog.adopt``).

Keys are ``"METHOD /path"`` exactly as the spec writes the path (the catalog's operation keys).
"""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# POSTs that read: a search body instead of a query string. Nothing is stored by sending them.
POST_READS = {
    "POST /contacts/search": "Search Contacts (contacts.json): a query, nothing stored.",
    "POST /locations/{locationId}/tasks/search": "Task Search Filter (locations.json).",
    "POST /objects/{schemaKey}/records/search": "Search Object Records (objects.json).",
    "POST /opportunities/search": "Search Opportunities (opportunities.json).",
    "POST /social-media-posting/statistics": "Get Social Media Statistics: a report, nothing stored.",
    "POST /users/search/filter-by-email": "Filter Users by Email (users.json).",
}

# Creates HighLevel de-duplicates itself: sending one twice leaves one record.
DEDUPLICATED = {
    "POST /contacts/upsert": (
        "Upsert Contact (contacts.json): matches an existing contact by email/phone following "
        "the location's 'Allow Duplicate Contact' setting, and updates it instead of creating."
    ),
    "POST /opportunities/upsert": (
        "Upsert Opportunity (opportunities.json): matches by contact and pipeline, updates in place."
    ),
    "POST /contacts/{contactId}/tags": (
        "Add Tags (contacts.json): tags are a set on the contact; adding one twice keeps one."
    ),
    "POST /contacts/{contactId}/followers": (
        "Add Followers (contacts.json): followers are a set of user ids; adding twice keeps one."
    ),
    "POST /contacts/bulk/tags/update/{type}": (
        "Update Contacts Tags (contacts.json): adds/removes tags on contacts, a set operation."
    ),
    "POST /oauth/locationToken": (
        "Get Location Access Token (oauth.json): mints a token for the location; a second mint "
        "gives another token and stores nothing a person would see (the agency's mint batches)."
    ),
}


def operation_retry_safe(*, method: str, path: str) -> bool:
    """True when ``method path`` (the spec's path template) may be sent again after a lost answer."""
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    key = f"{method} {path}"
    return key in POST_READS or key in DEDUPLICATED
