"""The named catalog: the product pages' operations, each mapped to its official operation.

``NAMED`` is the one reviewable table. Rows marked ``PAGE`` are the 128 entries of
``shared/product/catalog.json`` (124 printed in the catalog, 4 named elsewhere on the pages) with
the page's name, category and kind. Rows marked ``SPEC`` are added from the official specs where the
pages claim more than they list: Calendars claims 13 triggers (lists 12), Other Operations claims 20
triggers (lists 13), and the pages claim 14 categories while naming 10, so four categories the
portal's users ask for (Payments, Invoices & Estimates, Products, Forms & Surveys) come from the spec.
"""

from dataclasses import dataclass
from typing import Any

TRIGGER = "polling_trigger"
ACTION = "action"
KINDS = (TRIGGER, ACTION)
PAGE = "page"  # listed on the product pages (catalog.json)
SPEC = "spec"  # added from the official specs

CONTACTS = "Contacts"
CALENDARS = "Calendars & Appointments"
OPPORTUNITIES = "Opportunities"
USERS = "Users"
CONVERSATIONS = "Conversations & Messages"
BUSINESSES = "Businesses"
WORKFLOWS = "Workflows & Campaigns"
OTHER = "Other Operations"
SOCIAL = "Social Media Posting"
COURSES = "Courses"
PAYMENTS = "Payments"
INVOICES = "Invoices & Estimates"
PRODUCTS = "Products"
FORMS = "Forms & Surveys"
CATEGORIES = (
    CONTACTS,
    CALENDARS,
    OPPORTUNITIES,
    USERS,
    CONVERSATIONS,
    BUSINESSES,
    WORKFLOWS,
    OTHER,
    SOCIAL,
    COURSES,
    PAYMENTS,
    INVOICES,
    PRODUCTS,
    FORMS,
)

T, A = TRIGGER, ACTION

# fmt: off
NAMED = (
    # name                          category       kind method  path                                         origin
    ("Get Contact",                 CONTACTS, T, "GET",    "/contacts/{contactId}", PAGE),
    ("Search Contacts",             CONTACTS, T, "POST",   "/contacts/search", PAGE),
    ("Get Contacts by Business",    CONTACTS, T, "GET",    "/contacts/business/{businessId}", PAGE),
    ("Get Duplicate Contact",       CONTACTS, T, "GET",    "/contacts/search/duplicate", PAGE),
    ("Get Contact Appointments",    CONTACTS, T, "GET",    "/contacts/{contactId}/appointments", PAGE),
    ("Get Contact Tasks",           CONTACTS, T, "GET",    "/contacts/{contactId}/tasks", PAGE),
    ("Get Contact Task by ID",      CONTACTS, T, "GET",    "/contacts/{contactId}/tasks/{taskId}", PAGE),
    ("Get Contact Notes",           CONTACTS, T, "GET",    "/contacts/{contactId}/notes", PAGE),
    # A location's tasks, location-wide (the task plan lists them: no per-contact walk).
    ("Search Location Tasks",       CONTACTS, T, "POST",   "/locations/{locationId}/tasks/search", SPEC),
    ("Get Contact Note by ID",      CONTACTS, T, "GET",    "/contacts/{contactId}/notes/{id}", PAGE),
    ("List Contacts (Deprecated)",  CONTACTS, T, "GET",    "/contacts/", PAGE),
    ("Create Contact",              CONTACTS, A, "POST",   "/contacts/", PAGE),
    ("Update Contact",              CONTACTS, A, "PUT",    "/contacts/{contactId}", PAGE),
    # "Search by email, phone, or ID": the advanced search takes filters on any of them.
    ("Find Contact",                CONTACTS, A, "POST",   "/contacts/search", PAGE),
    ("Delete Contact",              CONTACTS, A, "DELETE", "/contacts/{contactId}", PAGE),
    ("Upsert Contact",              CONTACTS, A, "POST",   "/contacts/upsert", PAGE),
    ("Add Tags to Contact",         CONTACTS, A, "POST",   "/contacts/{contactId}/tags", PAGE),
    ("Remove Tags from Contact",    CONTACTS, A, "DELETE", "/contacts/{contactId}/tags", PAGE),
    ("Bulk Update Contact Tags",    CONTACTS, A, "POST",   "/contacts/bulk/tags/update/{type}", PAGE),
    ("Create Contact Task",         CONTACTS, A, "POST",   "/contacts/{contactId}/tasks", PAGE),
    ("Update Contact Task",         CONTACTS, A, "PUT",    "/contacts/{contactId}/tasks/{taskId}", PAGE),
    ("Complete Contact Task",       CONTACTS, A, "PUT",    "/contacts/{contactId}/tasks/{taskId}/completed", PAGE),
    ("Delete Contact Task",         CONTACTS, A, "DELETE", "/contacts/{contactId}/tasks/{taskId}", PAGE),
    ("Create Contact Note",         CONTACTS, A, "POST",   "/contacts/{contactId}/notes", PAGE),
    ("Update Contact Note",         CONTACTS, A, "PUT",    "/contacts/{contactId}/notes/{id}", PAGE),
    ("Delete Contact Note",         CONTACTS, A, "DELETE", "/contacts/{contactId}/notes/{id}", PAGE),
    ("Add Contact to Campaign",     CONTACTS, A, "POST",   "/contacts/{contactId}/campaigns/{campaignId}", PAGE),
    ("Remove from Campaign",        CONTACTS, A, "DELETE", "/contacts/{contactId}/campaigns/{campaignId}", PAGE),
    ("Remove from All Campaigns",   CONTACTS, A, "DELETE", "/contacts/{contactId}/campaigns/removeAll", PAGE),

    ("List Calendar Groups",        CALENDARS, T, "GET",    "/calendars/groups", PAGE),
    ("List Calendars",              CALENDARS, T, "GET",    "/calendars/", PAGE),
    ("Get Calendar by ID",          CALENDARS, T, "GET",    "/calendars/{calendarId}", PAGE),
    ("Get Free Slots",              CALENDARS, T, "GET",    "/calendars/{calendarId}/free-slots", PAGE),
    ("List Calendar Events",        CALENDARS, T, "GET",    "/calendars/events", PAGE),
    ("List Blocked Slots",          CALENDARS, T, "GET",    "/calendars/blocked-slots", PAGE),
    ("Get Appointment",             CALENDARS, T, "GET",    "/calendars/events/appointments/{eventId}", PAGE),
    ("List Appointment Notes",      CALENDARS, T, "GET",    "/calendars/appointments/{appointmentId}/notes", PAGE),
    ("List Calendar Notifications", CALENDARS, T, "GET",    "/calendars/{calendarId}/notifications", PAGE),
    ("Get Calendar Notification",   CALENDARS, T, "GET",    "/calendars/{calendarId}/notifications/{notificationId}", PAGE),
    ("List Calendar Resources",     CALENDARS, T, "GET",    "/calendars/resources/{resourceType}", PAGE),
    ("Get Calendar Resource",       CALENDARS, T, "GET",    "/calendars/resources/{resourceType}/{id}", PAGE),
    ("List Availability Schedules", CALENDARS, T, "GET",    "/calendars/schedules/search", SPEC),
    ("Create Calendar Group",       CALENDARS, A, "POST",   "/calendars/groups", PAGE),
    ("Update Calendar Group",       CALENDARS, A, "PUT",    "/calendars/groups/{groupId}", PAGE),
    ("Update Group Status",         CALENDARS, A, "PUT",    "/calendars/groups/{groupId}/status", PAGE),
    ("Delete Calendar Group",       CALENDARS, A, "DELETE", "/calendars/groups/{groupId}", PAGE),
    ("Validate Group Slug",         CALENDARS, A, "POST",   "/calendars/groups/validate-slug", PAGE),
    ("Create Calendar",             CALENDARS, A, "POST",   "/calendars/", PAGE),
    ("Update Calendar",             CALENDARS, A, "PUT",    "/calendars/{calendarId}", PAGE),
    ("Delete Calendar",             CALENDARS, A, "DELETE", "/calendars/{calendarId}", PAGE),
    ("Create Appointment",          CALENDARS, A, "POST",   "/calendars/events/appointments", PAGE),
    ("Update Appointment",          CALENDARS, A, "PUT",    "/calendars/events/appointments/{eventId}", PAGE),
    ("Delete Event",                CALENDARS, A, "DELETE", "/calendars/events/{eventId}", PAGE),
    ("Create Block Slot",           CALENDARS, A, "POST",   "/calendars/events/block-slots", PAGE),
    ("Update Block Slot",           CALENDARS, A, "PUT",    "/calendars/events/block-slots/{eventId}", PAGE),
    ("Create Appointment Note",     CALENDARS, A, "POST",   "/calendars/appointments/{appointmentId}/notes", PAGE),
    ("Update Appointment Note",     CALENDARS, A, "PUT",    "/calendars/appointments/{appointmentId}/notes/{noteId}", PAGE),
    ("Delete Appointment Note",     CALENDARS, A, "DELETE", "/calendars/appointments/{appointmentId}/notes/{noteId}", PAGE),
    ("Create Calendar Notification", CALENDARS, A, "POST",  "/calendars/{calendarId}/notifications", PAGE),
    ("Update Notification",         CALENDARS, A, "PUT",    "/calendars/{calendarId}/notifications/{notificationId}", PAGE),
    ("Delete Notification",         CALENDARS, A, "DELETE", "/calendars/{calendarId}/notifications/{notificationId}", PAGE),
    ("Create Calendar Resource",    CALENDARS, A, "POST",   "/calendars/resources/{resourceType}", PAGE),
    ("Update Calendar Resource",    CALENDARS, A, "PUT",    "/calendars/resources/{resourceType}/{id}", PAGE),
    ("Delete Calendar Resource",    CALENDARS, A, "DELETE", "/calendars/resources/{resourceType}/{id}", PAGE),

    ("Search Opportunities",        OPPORTUNITIES, T, "GET",    "/opportunities/search", PAGE),
    ("Get Opportunity",             OPPORTUNITIES, T, "GET",    "/opportunities/{id}", PAGE),
    ("List Pipelines",              OPPORTUNITIES, T, "GET",    "/opportunities/pipelines", PAGE),
    ("Create Opportunity",          OPPORTUNITIES, A, "POST",   "/opportunities/", PAGE),
    ("Update Opportunity",          OPPORTUNITIES, A, "PUT",    "/opportunities/{id}", PAGE),
    ("Delete Opportunity",          OPPORTUNITIES, A, "DELETE", "/opportunities/{id}", PAGE),
    ("Update Opportunity Status",   OPPORTUNITIES, A, "PUT",    "/opportunities/{id}/status", PAGE),
    ("Upsert Opportunity",          OPPORTUNITIES, A, "POST",   "/opportunities/upsert", PAGE),
    ("Add Followers",               OPPORTUNITIES, A, "POST",   "/opportunities/{id}/followers", PAGE),
    ("Remove Followers",            OPPORTUNITIES, A, "DELETE", "/opportunities/{id}/followers", PAGE),

    ("Search Users",                USERS, T, "GET",    "/users/search", PAGE),
    ("Filter Users by Email",       USERS, T, "POST",   "/users/search/filter-by-email", PAGE),
    ("Get User",                    USERS, T, "GET",    "/users/{userId}", PAGE),
    ("List Users by Location",      USERS, T, "GET",    "/users/", PAGE),
    ("Create User",                 USERS, A, "POST",   "/users/", PAGE),
    ("Update User",                 USERS, A, "PUT",    "/users/{userId}", PAGE),
    ("Delete User",                 USERS, A, "DELETE", "/users/{userId}", PAGE),

    ("Search Conversations",        CONVERSATIONS, T, "GET",  "/conversations/search", PAGE),
    ("Get Conversation",            CONVERSATIONS, T, "GET",  "/conversations/{conversationId}", PAGE),
    ("Get Email by ID",             CONVERSATIONS, T, "GET",  "/conversations/messages/email/{id}", PAGE),
    ("Get Message by ID",           CONVERSATIONS, T, "GET",  "/conversations/messages/{id}", PAGE),
    ("Get Messages by Conversation", CONVERSATIONS, T, "GET", "/conversations/{conversationId}/messages", PAGE),
    ("Get Message Recording",       CONVERSATIONS, T, "GET",  "/conversations/messages/{messageId}/locations/{locationId}/recording", PAGE),
    ("Get Message Transcription",   CONVERSATIONS, T, "GET",  "/conversations/locations/{locationId}/messages/{messageId}/transcription", PAGE),
    ("Download Transcription",      CONVERSATIONS, T, "GET",  "/conversations/locations/{locationId}/messages/{messageId}/transcription/download", PAGE),
    ("Update Message Status",       CONVERSATIONS, A, "PUT",  "/conversations/messages/{messageId}/status", PAGE),
    ("Agent Typing Indicator",      CONVERSATIONS, A, "POST", "/conversations/providers/live-chat/typing", PAGE),

    ("Get Business",                BUSINESSES, T, "GET",    "/businesses/{businessId}", PAGE),
    ("List Businesses by Location", BUSINESSES, T, "GET",    "/businesses/", PAGE),
    ("Create Business",             BUSINESSES, A, "POST",   "/businesses/", PAGE),
    ("Update Business",             BUSINESSES, A, "PUT",    "/businesses/{businessId}", PAGE),
    ("Delete Business",             BUSINESSES, A, "DELETE", "/businesses/{businessId}", PAGE),

    ("List Workflows",              WORKFLOWS, T, "GET",    "/workflows/", PAGE),
    ("List Snapshots",              WORKFLOWS, T, "GET",    "/snapshots/", PAGE),
    ("List Campaigns",              WORKFLOWS, T, "GET",    "/campaigns/", PAGE),
    ("Add Contact to Workflow",     WORKFLOWS, A, "POST",   "/contacts/{contactId}/workflow/{workflowId}", PAGE),
    ("Remove from Workflow",        WORKFLOWS, A, "DELETE", "/contacts/{contactId}/workflow/{workflowId}", PAGE),
    ("Add Contact Followers",       WORKFLOWS, A, "POST",   "/contacts/{contactId}/followers", PAGE),
    ("Remove Contact Followers",    WORKFLOWS, A, "DELETE", "/contacts/{contactId}/followers", PAGE),
    ("Bulk Business Update",        WORKFLOWS, A, "POST",   "/contacts/bulk/business", PAGE),

    ("List Locations",              OTHER, T, "GET",    "/locations/search", PAGE),
    ("List Custom Fields",          OTHER, T, "GET",    "/locations/{locationId}/customFields", PAGE),
    ("Get Company",                 OTHER, T, "GET",    "/companies/{companyId}", PAGE),
    ("Find Associations",           OTHER, T, "GET",    "/associations/", PAGE),
    ("Get Association",             OTHER, T, "GET",    "/associations/{associationId}", PAGE),
    ("Get Association Key",         OTHER, T, "GET",    "/associations/key/{key_name}", PAGE),
    ("Get Association by Keys",     OTHER, T, "GET",    "/associations/objectKey/{objectKey}", PAGE),
    ("Get Relations by Record",     OTHER, T, "GET",    "/associations/relations/{recordId}", PAGE),
    ("Check Blog URL Slug",         OTHER, T, "GET",    "/blogs/posts/url-slug-exists", PAGE),
    ("Get Blog Authors",            OTHER, T, "GET",    "/blogs/authors", PAGE),
    ("Get Blog Categories",         OTHER, T, "GET",    "/blogs/categories", PAGE),
    ("Get Blog Posts",              OTHER, T, "GET",    "/blogs/posts/all", PAGE),
    ("Get Blogs by Location",       OTHER, T, "GET",    "/blogs/site/all", PAGE),
    ("List Location Tags",          OTHER, T, "GET",    "/locations/{locationId}/tags", SPEC),
    ("Get Location Tag",            OTHER, T, "GET",    "/locations/{locationId}/tags/{tagId}", SPEC),
    ("Get Custom Field",            OTHER, T, "GET",    "/locations/{locationId}/customFields/{id}", SPEC),
    ("List Custom Values",          OTHER, T, "GET",    "/locations/{locationId}/customValues", SPEC),
    ("Get Custom Value",            OTHER, T, "GET",    "/locations/{locationId}/customValues/{id}", SPEC),
    ("List Email/SMS Templates",    OTHER, T, "GET",    "/locations/{locationId}/templates", SPEC),
    ("List Custom Fields by Object", OTHER, T, "GET",   "/custom-fields/object-key/{objectKey}", SPEC),
    ("Find Location by ID",         OTHER, A, "GET",    "/locations/{locationId}", PAGE),
    ("Create Location",             OTHER, A, "POST",   "/locations/", PAGE),
    ("Create Association",          OTHER, A, "POST",   "/associations/", PAGE),
    ("Update Association",          OTHER, A, "PUT",    "/associations/{associationId}", PAGE),
    ("Delete Association",          OTHER, A, "DELETE", "/associations/{associationId}", PAGE),
    ("Create Relation",             OTHER, A, "POST",   "/associations/relations", PAGE),
    ("Delete Relation",             OTHER, A, "DELETE", "/associations/relations/{relationId}", PAGE),
    ("Create Blog Post",            OTHER, A, "POST",   "/blogs/posts", PAGE),
    ("Update Blog Post",            OTHER, A, "PUT",    "/blogs/posts/{postId}", PAGE),

    ("Get Social Tags",             SOCIAL, T, "GET",  "/social-media-posting/{locationId}/tags", PAGE),
    ("Get Tag Details",             SOCIAL, A, "POST", "/social-media-posting/{locationId}/tags/details", PAGE),
    ("Get Post Statistics",         SOCIAL, A, "POST", "/social-media-posting/statistics", PAGE),

    ("Import Courses",              COURSES, A, "POST", "/courses/courses-exporter/public/import", PAGE),

    ("List Orders",                 PAYMENTS, T, "GET",  "/payments/orders", SPEC),
    ("List Transactions",           PAYMENTS, T, "GET",  "/payments/transactions", SPEC),
    ("List Subscriptions",          PAYMENTS, T, "GET",  "/payments/subscriptions", SPEC),
    ("Record Order Payment",        PAYMENTS, A, "POST", "/payments/orders/{orderId}/record-payment", SPEC),
    ("Create Order Fulfillment",    PAYMENTS, A, "POST", "/payments/orders/{orderId}/fulfillments", SPEC),
    ("Create Coupon",               PAYMENTS, A, "POST", "/payments/coupon", SPEC),

    ("List Invoices",               INVOICES, T, "GET",  "/invoices/", SPEC),
    ("List Estimates",              INVOICES, T, "GET",  "/invoices/estimate/list", SPEC),
    ("Create Invoice",              INVOICES, A, "POST", "/invoices/", SPEC),
    ("Send Invoice",                INVOICES, A, "POST", "/invoices/{invoiceId}/send", SPEC),
    ("Record Invoice Payment",      INVOICES, A, "POST", "/invoices/{invoiceId}/record-payment", SPEC),
    ("Create Estimate",             INVOICES, A, "POST", "/invoices/estimate", SPEC),

    ("List Products",               PRODUCTS, T, "GET",  "/products/", SPEC),
    ("List Product Prices",         PRODUCTS, T, "GET",  "/products/{productId}/price", SPEC),
    ("Create Product",              PRODUCTS, A, "POST", "/products/", SPEC),
    ("Update Product",              PRODUCTS, A, "PUT",  "/products/{productId}", SPEC),
    ("Create Product Price",        PRODUCTS, A, "POST", "/products/{productId}/price", SPEC),

    ("Get Form Submissions",        FORMS, T, "GET",  "/forms/submissions", SPEC),
    ("Get Survey Submissions",      FORMS, T, "GET",  "/surveys/submissions", SPEC),
    ("List Forms",                  FORMS, T, "GET",  "/forms/", SPEC),
    ("Upload Files to Custom Fields", FORMS, A, "POST", "/forms/upload-custom-files", SPEC),
)
# fmt: on


@dataclass(frozen=True)
class NamedOperation:
    name: str
    category: str
    kind: str
    method: str
    path: str
    origin: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def named_all() -> list[NamedOperation]:
    """Every named operation, in table order."""
    return list(_named_by_name().values())


_BUILT: dict[str, tuple[Any, dict[str, NamedOperation]]] = {}


def _named_by_name() -> dict[str, NamedOperation]:
    """The table, built once (every poll asks for its trigger; building all rows per ask cost
    a poll 2 ms) and again only if ``NAMED`` is replaced. The rows are frozen: safe to share."""
    source, built = _BUILT.get("table", (None, {}))
    if source is not NAMED:
        built = {row[0]: NamedOperation(*row) for row in NAMED}
        _BUILT["table"] = (NAMED, built)
    return built


def named_get(name: str) -> NamedOperation:
    try:
        return _named_by_name()[name]
    except KeyError:
        raise KeyError(f"No named operation {name!r} in the catalog.") from None
