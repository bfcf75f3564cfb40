"""Contacts: create with duplicate refusal, upsert, duplicate lookup, list, tags, followers,
bulk tags and business, campaign and workflow enrolment (search: search.py)."""

from django.db.models import Q

from sandbox.api.context import Call, Reply
from sandbox.api.handlers.crud import Crud, flags_for, wrap_many
from sandbox.api.handlers.paging import location_page, next_page_meta, page_rows, page_window
from sandbox.errors import ApiError, not_found
from sandbox.models import Resource
from sandbox.state import events, store
from sandbox.state.store import phone_digits

KIND = "contact"
EVENTS = {"create": "ContactCreate", "update": "ContactUpdate", "delete": "ContactDelete"}
crud = Crud("get", KIND, id_param="contactId", key="contact", events=EVENTS)


def _derived(data: dict) -> dict:
    """Fields HighLevel computes from the ones a client sends."""
    first, last = data.get("firstName") or "", data.get("lastName") or ""
    out = dict(data)
    if first or last:
        out.setdefault("name", " ".join(p for p in (first, last) if p))
    out["firstNameLowerCase"] = first.lower()
    out["lastNameLowerCase"] = last.lower()
    out["fullNameLowerCase"] = (out.get("name") or "").lower()
    if out.get("email"):
        out["emailLowerCase"] = str(out["email"]).lower()
    out.setdefault("tags", [])
    out["tags"] = _unique(out["tags"] or [])
    out.setdefault("type", "lead")
    return out


def _merged(data: dict, changes: dict) -> dict:
    """A contact changed: its name follows new first/last names unless a name is given."""
    out = {**data, **changes}
    if ("firstName" in changes or "lastName" in changes) and "name" not in changes:
        out.pop("name", None)
    return _derived(out)


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def location_of(call: Call) -> str:
    location_id = call.location_id or call.body.get("locationId") or call.query.get("locationId")
    if not location_id:
        raise ApiError(422, ["locationId should not be empty"])
    return location_id


def duplicate_find(*, location_id: str, email: str | None, phone: str | None):
    """The contact HighLevel's duplicate rule matches: same email, else same phone."""
    base = Resource.objects.filter(kind=KIND, location_id=location_id, deleted=False)
    if email:
        hit = base.filter(email=str(email).lower()).order_by("seq").first()
        if hit:
            return hit, "email"
    digits = phone_digits(phone)
    if digits:
        hit = base.filter(phone=digits).order_by("seq").first()
        if hit:
            return hit, "phone"
    return None, None


def create(call: Call) -> Reply:
    location_id = location_of(call)
    data = _derived({**call.body, "locationId": location_id})
    existing, _field = duplicate_find(
        location_id=location_id, email=data.get("email"), phone=data.get("phone")
    )
    if existing:
        # HighLevel's answer when the location does not allow duplicated contacts.
        raise ApiError(400, "This location does not allow duplicated contacts.")
    res = store.resource_create(kind=KIND, location_id=location_id, data=data)
    events.event_emit(event_type="ContactCreate", location_id=location_id, data=res.data)
    return Reply({"contact": res.data})


def delete(call: Call) -> Reply:
    """Deleting a contact takes its tasks, notes and enrolments with it, as in HighLevel."""
    res = crud.load(call)
    store.resource_delete(res=res)
    Resource.objects.filter(parent_id=res.resource_id, deleted=False).update(deleted=True)
    events.event_emit(event_type="ContactDelete", location_id=res.location_id, data=res.data)
    return Reply({"succeded": True})


def update(call: Call) -> Reply:
    res = crud.load(call)
    before = dict(res.data)
    changes = {k: v for k, v in call.body.items() if k != "locationId"}
    res = store.resource_update(res=res, changes=_merged(res.data, changes))
    events.event_emit(event_type="ContactUpdate", location_id=res.location_id, data=res.data)
    events.changes_emit(kind="contact", before=before, after=res.data, location_id=res.location_id)
    return Reply({"succeded": True, "contact": res.data})


def upsert(call: Call) -> Reply:
    location_id = location_of(call)
    body = {**call.body, "locationId": location_id}
    existing, _ = duplicate_find(
        location_id=location_id, email=body.get("email"), phone=body.get("phone")
    )
    if existing:
        before = dict(existing.data)
        res = store.resource_update(res=existing, changes=_merged(existing.data, body))
        events.event_emit(event_type="ContactUpdate", location_id=location_id, data=res.data)
        events.changes_emit(kind="contact", before=before, after=res.data, location_id=location_id)
        return Reply({"new": False, "contact": res.data, "traceId": store.new_id()})
    res = store.resource_create(kind=KIND, location_id=location_id, data=_derived(body))
    events.event_emit(event_type="ContactCreate", location_id=location_id, data=res.data)
    return Reply({"new": True, "contact": res.data, "traceId": store.new_id()})


def duplicate(call: Call) -> Reply:
    existing, _ = duplicate_find(
        location_id=location_of(call), email=call.query.get("email"), phone=call.query.get("number")
    )
    return Reply({"contact": existing.data if existing else None})


def text_query(qs, text: str):
    if not text:
        return qs
    text = str(text)
    return qs.filter(
        Q(data__name__icontains=text)
        | Q(email__contains=text.lower())
        | Q(phone__contains=phone_digits(text) or text)
        | Q(data__companyName__icontains=text)
    )


def list_(call: Call) -> Reply:
    """GET /contacts/ (deprecated but used): startAfterId paging with ``meta.nextPageUrl``."""
    location_id, text = location_of(call), call.query.get("query")
    window = page_window(call)
    if text:
        qs = text_query(store.resources_query(kind=KIND, location_id=location_id), text)
        rows, more = page_rows(qs, window)
        total = qs.count()
    else:
        rows, more, total = location_page(kind=KIND, location_id=location_id, window=window)
    body = {
        "contacts": [r.data for r in rows],
        "count": total,
        "meta": next_page_meta(call=call, rows=rows, more=more, total=total),
    }
    return Reply(body)


def _contact(call: Call):
    return crud.load(call)


def tags_change(call: Call) -> Reply:
    res = _contact(call)
    tags = [t for t in call.body.get("tags", []) if isinstance(t, str)]
    current = list(res.data.get("tags") or [])
    if call.op.method == "POST":
        new = _unique(current + tags)
    else:
        drop = {t.lower() for t in tags}
        new = [t for t in current if t.lower() not in drop]
    res = store.resource_update(res=res, changes={"tags": new})
    events.event_emit(event_type="ContactTagUpdate", location_id=res.location_id, data=res.data)
    return Reply({"tags": new})


def bulk_tags(call: Call) -> Reply:
    kind_of_change = call.path("type")
    if kind_of_change not in ("add", "remove"):
        raise ApiError(422, ["type must be one of the following values: add, remove"])
    location_id = location_of(call)
    tags = [t for t in call.body.get("tags", []) if isinstance(t, str)]
    responses, errors = [], 0
    for contact_id in call.body.get("contacts", []):
        res = store.resource_get(kind=KIND, resource_id=contact_id)
        if res is None or res.location_id != location_id:
            errors += 1
            responses.append(
                {"contactId": contact_id, "message": "Contact not found", "type": "error"}
            )
            continue
        current = list(res.data.get("tags") or [])
        if kind_of_change == "add":
            new = _unique(current + tags)
        elif call.body.get("removeAllTags"):
            new = []
        else:
            new = [t for t in current if t.lower() not in {x.lower() for x in tags}]
        res = store.resource_update(res=res, changes={"tags": new})
        events.event_emit(event_type="ContactTagUpdate", location_id=location_id, data=res.data)
        responses.append({"contactId": contact_id, "message": "Tags updated", "type": "success"})
    return Reply({"succeded": errors == 0, "errorCount": errors, "responses": responses})


def bulk_business(call: Call) -> Reply:
    location_id = location_of(call)
    ids = [i for i in call.body.get("ids", []) if isinstance(i, str)]
    rows = Resource.objects.filter(
        kind=KIND, location_id=location_id, deleted=False, resource_id__in=ids
    )
    done = []
    for res in rows:
        store.resource_update(res=res, changes={"businessId": call.body.get("businessId")})
        done.append(res.resource_id)
    return Reply({"success": True, "ids": done})


def by_business(call: Call) -> Reply:
    qs = store.resources_query(kind=KIND, location_id=location_of(call)).filter(
        data__businessId=call.path("businessId")
    )
    qs = text_query(qs, call.query.get("query"))
    rows, _more = page_rows(qs, page_window(call))
    return Reply(wrap_many(call.op, [r.data for r in rows], total=qs.count(), key="contacts"))


def followers_change(call: Call) -> Reply:
    res = _contact(call)
    given = [f for f in call.body.get("followers", []) if isinstance(f, str)]
    current = list(res.data.get("followers") or [])
    if call.op.method == "POST":
        changed = [f for f in _unique(given) if f not in current]
        new = current + changed
        reply = {"followers": new, "followersAdded": changed}
    else:
        changed = [f for f in current if f in given]
        new = [f for f in current if f not in given]
        reply = {"followers": new, "followersRemoved": changed}
    store.resource_update(res=res, changes={"followers": new})
    return Reply(reply)


def enrolment(call: Call) -> Reply:
    """Campaign and workflow enrolment: rows of kind ``campaign_enrolment``/``workflow_enrolment``."""
    res = _contact(call)
    kind, target = (
        ("workflow_enrolment", call.path("workflowId"))
        if "workflowId" in call.valid.path
        else ("campaign_enrolment", call.path("campaignId"))
    )
    existing = store.resources_query(kind=kind, parent_id=res.resource_id)
    if call.op.path.endswith("removeAll"):
        ended = list(existing)
        existing.update(deleted=True)
    elif call.op.method == "POST":
        ended = []
        if not existing.filter(data__targetId=target).exists():
            started = store.resource_create(
                kind=kind,
                location_id=res.location_id,
                parent_id=res.resource_id,
                data={"targetId": target, "contactId": res.resource_id, **call.body},
            )
            if kind == "campaign_enrolment":
                events.campaign_status_emit(enrolment=started, status="active")
    else:
        ended = list(existing.filter(data__targetId=target))
        if not existing.filter(data__targetId=target).update(deleted=True):
            raise not_found(op=call.op, what="Enrolment")
    if kind == "campaign_enrolment":
        for enrolment in ended:
            events.campaign_status_emit(enrolment=enrolment, status="removed")
    return Reply(flags_for(call.op) or {"succeded": True})


def appointments(call: Call) -> Reply:
    res = _contact(call)
    rows = store.resources_query(kind="appointment").filter(data__contactId=res.resource_id)[:100]
    return Reply({"events": [r.data for r in rows]})
