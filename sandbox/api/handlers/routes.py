"""ROUTES: the stateful operations, by (method, path template) as in the spec, and their handlers.

Every operation not listed here answers from its spec's schema and examples
(``sandbox.api.dispatch.default_handler``). Grep this table to see what the sandbox remembers.
"""

from sandbox.api.handlers import activity, contacts, content, search, uploads, user_search, users
from sandbox.api.handlers.crud import Crud

C = contacts.crud
TASK_EVENTS = {"create": "TaskCreate", "delete": "TaskDelete"}
NOTE_EVENTS = {"create": "NoteCreate", "update": "NoteUpdate", "delete": "NoteDelete"}
APPT_EVENTS = {
    "create": "AppointmentCreate",
    "update": "AppointmentUpdate",
    "delete": "AppointmentDelete",
}
OPP_EVENTS = {
    "create": "OpportunityCreate",
    "update": "OpportunityUpdate",
    "delete": "OpportunityDelete",
}
ASSOC_EVENTS = {
    "create": "AssociationCreate",
    "update": "AssociationUpdate",
    "delete": "AssociationDelete",
}


def crud_set(
    kind,
    *,
    collection,
    item,
    id_param,
    key=None,
    list_key=None,
    events=None,
    parent_param=None,
    parent_kind="contact",
    methods=("list", "create", "get", "update", "delete"),
):
    """The usual five routes of one kind."""
    common = {"parent_param": parent_param, "parent_kind": parent_kind, "events": events or {}}
    table = {
        "list": (("GET", collection), Crud("list", kind, key=list_key, **common)),
        "create": (("POST", collection), Crud("create", kind, key=key, **common)),
        "get": (("GET", item), Crud("get", kind, id_param=id_param, key=key, **common)),
        "update": (("PUT", item), Crud("update", kind, id_param=id_param, key=key, **common)),
        "delete": (("DELETE", item), Crud("delete", kind, id_param=id_param, **common)),
    }
    return dict(table[m] for m in methods)


ROUTES = {
    # Multipart uploads: stored and served back (handlers/uploads.py)
    ("POST", "/medias/upload-file"): uploads.upload,
    ("POST", "/conversations/messages/upload"): uploads.upload,
    ("POST", "/locations/{locationId}/customFields/upload"): uploads.upload,
    ("POST", "/forms/upload-custom-files"): uploads.upload,
    ("POST", "/social-media-posting/{locationId}/csv"): uploads.upload,
    # Contacts
    ("POST", "/contacts/"): contacts.create,
    ("GET", "/contacts/"): contacts.list_,
    ("GET", "/contacts/{contactId}"): C,
    ("PUT", "/contacts/{contactId}"): contacts.update,
    ("DELETE", "/contacts/{contactId}"): contacts.delete,
    ("POST", "/contacts/upsert"): contacts.upsert,
    ("GET", "/contacts/search/duplicate"): contacts.duplicate,
    ("POST", "/contacts/search"): search.search,
    ("POST", "/contacts/{contactId}/tags"): contacts.tags_change,
    ("DELETE", "/contacts/{contactId}/tags"): contacts.tags_change,
    ("POST", "/contacts/bulk/tags/update/{type}"): contacts.bulk_tags,
    ("POST", "/contacts/bulk/business"): contacts.bulk_business,
    ("GET", "/contacts/business/{businessId}"): contacts.by_business,
    ("POST", "/contacts/{contactId}/followers"): contacts.followers_change,
    ("DELETE", "/contacts/{contactId}/followers"): contacts.followers_change,
    ("POST", "/contacts/{contactId}/campaigns/{campaignId}"): contacts.enrolment,
    ("DELETE", "/contacts/{contactId}/campaigns/{campaignId}"): contacts.enrolment,
    ("DELETE", "/contacts/{contactId}/campaigns/removeAll"): contacts.enrolment,
    ("POST", "/contacts/{contactId}/workflow/{workflowId}"): contacts.enrolment,
    ("DELETE", "/contacts/{contactId}/workflow/{workflowId}"): contacts.enrolment,
    ("GET", "/contacts/{contactId}/appointments"): contacts.appointments,
    # Tasks and notes of a contact
    **crud_set(
        "task",
        collection="/contacts/{contactId}/tasks",
        item="/contacts/{contactId}/tasks/{taskId}",
        id_param="taskId",
        key="task",
        list_key="tasks",
        events=TASK_EVENTS,
        parent_param="contactId",
    ),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"): activity.task_complete,
    ("POST", "/locations/{locationId}/tasks/search"): activity.location_tasks_search,
    **crud_set(
        "note",
        collection="/contacts/{contactId}/notes",
        item="/contacts/{contactId}/notes/{id}",
        id_param="id",
        key="note",
        list_key="notes",
        events=NOTE_EVENTS,
        parent_param="contactId",
    ),
    # Calendars, groups, appointments and events
    **crud_set(
        "calendar",
        collection="/calendars/",
        item="/calendars/{calendarId}",
        id_param="calendarId",
        key="calendar",
        list_key="calendars",
    ),
    **crud_set(
        "calendar_group",
        collection="/calendars/groups",
        item="/calendars/groups/{groupId}",
        id_param="groupId",
        key="group",
        list_key="groups",
        methods=("list", "create", "update", "delete"),
    ),
    ("PUT", "/calendars/groups/{groupId}/status"): Crud(
        "update", "calendar_group", id_param="groupId"
    ),
    ("POST", "/calendars/events/appointments"): Crud("create", "appointment", events=APPT_EVENTS),
    ("PUT", "/calendars/events/appointments/{eventId}"): Crud(
        "update", "appointment", id_param="eventId", events=APPT_EVENTS
    ),
    ("GET", "/calendars/events/appointments/{eventId}"): Crud(
        "get", "appointment", id_param="eventId", key="event"
    ),
    ("DELETE", "/calendars/events/{eventId}"): Crud(
        "delete", "appointment", id_param="eventId", events=APPT_EVENTS
    ),
    ("GET", "/calendars/events"): activity.calendar_events,
    ("POST", "/calendars/events/block-slots"): Crud("create", "blocked_slot"),
    ("PUT", "/calendars/events/block-slots/{eventId}"): Crud(
        "update", "blocked_slot", id_param="eventId"
    ),
    ("GET", "/calendars/blocked-slots"): activity.calendar_events,
    **crud_set(
        "appointment_note",
        collection="/calendars/appointments/{appointmentId}/notes",
        item="/calendars/appointments/{appointmentId}/notes/{noteId}",
        id_param="noteId",
        key="note",
        list_key="notes",
        parent_param="appointmentId",
        parent_kind="appointment",
        methods=("list", "create", "update", "delete"),
    ),
    # Users
    **crud_set(
        "user",
        collection="/users/",
        item="/users/{userId}",
        id_param="userId",
        list_key="users",
        methods=("list", "delete"),
    ),
    ("POST", "/users/"): users.user_create,
    ("GET", "/users/{userId}"): users.user_get,
    ("PUT", "/users/{userId}"): users.user_update,
    ("GET", "/users/search"): user_search.search,
    ("POST", "/users/search/filter-by-email"): user_search.filter_by_email,
    # Opportunities and pipelines
    **crud_set(
        "opportunity",
        collection="/opportunities/",
        item="/opportunities/{id}",
        id_param="id",
        key="opportunity",
        events=OPP_EVENTS,
        methods=("create", "get", "update", "delete"),
    ),
    ("GET", "/opportunities/search"): Crud("list", "opportunity", key="opportunities"),
    ("PUT", "/opportunities/{id}/status"): activity.opportunity_status,
    ("POST", "/opportunities/upsert"): activity.opportunity_upsert,
    ("GET", "/opportunities/pipelines"): Crud("list", "pipeline", key="pipelines"),
    # Businesses ("buiseness" is the spec's own spelling of the key)
    **crud_set(
        "business",
        collection="/businesses/",
        item="/businesses/{businessId}",
        id_param="businessId",
        key="buiseness",
        list_key="businesses",
        methods=("list", "create", "update", "delete"),
    ),
    ("GET", "/businesses/{businessId}"): Crud(
        "get", "business", id_param="businessId", key="business"
    ),
    # Conversations and messages
    **crud_set(
        "conversation",
        collection="/conversations/",
        item="/conversations/{conversationId}",
        id_param="conversationId",
        key="conversation",
        methods=("create", "update", "delete"),
    ),
    ("GET", "/conversations/{conversationId}"): Crud(
        "get", "conversation", id_param="conversationId"
    ),
    ("GET", "/conversations/search"): Crud("list", "conversation", key="conversations"),
    ("POST", "/conversations/messages"): activity.message_send,
    ("POST", "/conversations/messages/inbound"): activity.message_send,
    ("POST", "/conversations/messages/outbound"): activity.message_send,
    ("GET", "/conversations/{conversationId}/messages"): activity.conversation_messages,
    ("GET", "/conversations/messages/{id}"): Crud("get", "message", id_param="id"),
    # Workflows, campaigns
    ("GET", "/workflows/"): Crud("list", "workflow", key="workflows"),
    ("GET", "/campaigns/"): Crud("list", "campaign", key="campaigns"),
    # Custom fields and values
    **crud_set(
        "custom_field",
        collection="/locations/{locationId}/customFields",
        item="/locations/{locationId}/customFields/{id}",
        id_param="id",
        key="customField",
        list_key="customFields",
    ),
    **crud_set(
        "custom_value",
        collection="/locations/{locationId}/customValues",
        item="/locations/{locationId}/customValues/{id}",
        id_param="id",
        key="customValue",
        list_key="customValues",
    ),
    **crud_set(
        "object_field",
        collection="/custom-fields/",
        item="/custom-fields/{id}",
        id_param="id",
        key="field",
        methods=("create", "get", "update", "delete"),
    ),
    # Locations and their tags
    ("POST", "/locations/"): content.location_create,
    ("GET", "/locations/{locationId}"): content.location_get,
    ("PUT", "/locations/{locationId}"): content.location_update,
    ("DELETE", "/locations/{locationId}"): Crud("delete", "location", id_param="locationId"),
    ("GET", "/locations/search"): Crud("list", "location", key="locations"),
    **crud_set(
        "location_tag",
        collection="/locations/{locationId}/tags",
        item="/locations/{locationId}/tags/{tagId}",
        id_param="tagId",
        key="tag",
        list_key="tags",
    ),
    # Social planner
    ("GET", "/social-media-posting/{locationId}/tags"): content.social_tags,
    ("POST", "/social-media-posting/statistics"): content.social_statistics,
    # Courses
    ("POST", "/courses/courses-exporter/public/import"): content.course_import,
    # Associations and relations
    **crud_set(
        "association",
        collection="/associations/",
        item="/associations/{associationId}",
        id_param="associationId",
        events=ASSOC_EVENTS,
    ),
    ("POST", "/associations/relations"): content.relation_create,
    ("GET", "/associations/relations/{recordId}"): content.relations_of_record,
    ("DELETE", "/associations/relations/{relationId}"): content.relation_delete,
    # Blogs
    ("POST", "/blogs/posts"): Crud("create", "blog_post", key="data"),
    ("PUT", "/blogs/posts/{postId}"): Crud(
        "update", "blog_post", id_param="postId", key="updatedBlogPost"
    ),
    ("GET", "/blogs/posts/all"): content.blog_posts,
    ("GET", "/blogs/posts/url-slug-exists"): content.blog_slug_exists,
}
