"""Sandbox locations with every synced kind, their flows and their changes (not a benchmark).

``world`` seeds sandbox locations (contacts, tasks, notes, appointments over 3 calendars, users,
opportunities; ``VOLUMES`` is a full location) and gives each a portal location with a
private-token connection holding every scope; ``flows_apply`` applies every HighLevel → Rankr
flow; ``changes`` changes a share of every kind in the sandbox's store (which emits no webhooks;
with ``emit``, the event the sandbox's own handler would, ``WEBHOOK_EVENTS``);
``backfill_all``, ``poll_all`` and ``walk_all`` run subscriptions as the worker would;
``sandbox_counted`` reads the requests the sandbox counted. Used by ``location_equality.py`` and
``log_volume.py``.
"""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sync_world import run_inline

# A full location's volumes (``--scale 1``).
VOLUMES = {
    "contact": 10_000,
    "task": 20_000,
    "note": 20_000,
    "appointment": 5_000,
    "user": 50,
    "opportunity": 2_000,
}
# (kind, action) -> the event the sandbox's own handler emits for that change (sandbox/api/
# handlers: contacts.py, routes.py TASK_/NOTE_/APPT_/OPP_EVENTS, activity.py task_complete,
# users.py user_create). No entry: HighLevel announces nothing (task edits, user edits and
# deletions).
WEBHOOK_EVENTS = {
    ("contact", "create"): "ContactCreate",
    ("contact", "update"): "ContactUpdate",
    ("contact", "delete"): "ContactDelete",
    ("task", "create"): "TaskCreate",
    ("task", "complete"): "TaskComplete",  # only when marked done
    ("task", "delete"): "TaskDelete",
    ("note", "create"): "NoteCreate",
    ("note", "update"): "NoteUpdate",
    ("note", "delete"): "NoteDelete",
    ("appointment", "create"): "AppointmentCreate",
    ("appointment", "move"): "AppointmentUpdate",
    ("appointment", "delete"): "AppointmentDelete",
    ("opportunity", "create"): "OpportunityCreate",
    ("opportunity", "update"): "OpportunityUpdate",
    ("opportunity", "delete"): "OpportunityDelete",
    ("user", "create"): "UserCreate",
}


def sandbox_counted(*, location_ids, company):
    """Requests the sandbox counted today for these locations and their company."""
    from sandbox.access.models.limits import RateCounter

    ends = tuple(f":{key}" for key in (*location_ids, company))
    return sum(r.count for r in RateCounter.objects.filter(window="day") if r.key.endswith(ends))


def world(volumes, *, location_ids, company, name="Bench"):
    """Seed ``location_ids`` in the sandbox with ``volumes`` each (contacts, tasks, notes,
    appointments over 3 calendars, users, opportunities) and give each a portal location with a
    private-token connection holding every scope. Returns the portal locations."""
    from integrations.models import Connection, HighLevelApp
    from portal.models import Agency, Location
    from sandbox.access.services.registry import (
        private_token_create,
        sandbox_company_ensure,
        spec_scopes_all,
    )
    from sandbox.state.seed import sandbox_seed

    sandbox_company_ensure(
        company_id=company,
        name=f"{name} agency",
        locations=[{"location_id": ghl_id, "name": f"{name} {ghl_id}"} for ghl_id in location_ids],
    )
    sandbox_seed(
        company_id=company,
        location_ids=list(location_ids),
        contacts=volumes["contact"],
        users=volumes["user"],
        tasks=volumes["task"],
        notes=volumes["note"],
        appointments=volumes["appointment"],
        calendars=3,
        opportunities=volumes["opportunity"],
    )
    scopes = sorted(spec_scopes_all())
    agency = Agency.objects.create(company_id=company, name=f"{name} agency")
    app = HighLevelApp(
        name="Bench app",
        mode=HighLevelApp.Mode.SANDBOX,
        client_id="bench-client",
        redirect_url="http://127.0.0.1/callback/",
    )
    app.client_secret = "bench-secret"
    app.save()
    locations = []
    for ghl_id in location_ids:
        location = Location.objects.create(
            agency=agency,
            location_id=ghl_id,
            name=f"{name} {ghl_id}",
            time_zone="America/New_York",
        )
        connection = Connection(
            app=app,
            agency=agency,
            location=location,
            kind=Connection.Kind.LOCATION,
            auth_type=Connection.AuthType.PRIVATE,
            scopes=" ".join(scopes),
        )
        connection.access_token = private_token_create(location_id=ghl_id, scopes=scopes).value
        connection.save()
        locations.append(location)
    return locations


def flows_apply(locations):
    """Every HighLevel → Rankr flow, applied to ``locations``. Returns (template keys, report)."""
    from integrations.sync.flows import flows_apply_many
    from mappings.entities import GHL_TO_RANKR
    from mappings.flow_templates import FLOW_TEMPLATES

    keys = [k for k, t in FLOW_TEMPLATES.items() if t.direction == GHL_TO_RANKR]
    report = flows_apply_many(
        template_keys=keys, location_ids=[location.pk for location in locations], user_id=None
    )
    return keys, report


def changes(rng, fraction, *, location_id, company, emit=False, pace=0.0):
    """``fraction`` of every kind of one sandbox location, written into the sandbox's store (no
    webhooks; with ``emit``, the event the sandbox's own handler would emit for each change
    HighLevel announces, ``pace`` seconds apart): contacts updated, created, deleted (with their
    tasks and notes, which announce nothing); tasks edited, completed, created, deleted; notes
    added, edited, deleted; appointments moved, created, deleted; users and opportunities
    updated, created, deleted. Returns ({(kind, ghl_id): (changed at, action)},
    {(kind, ghl_id): event type emitted}, empty without ``emit``)."""
    from sandbox.models import Resource
    from sandbox.state import store

    changed = {}
    announced = {}

    def note(kind, res, action):
        """Record the change; with ``emit``, send the event the sandbox's handler would."""
        at = time.time()
        event_type = WEBHOOK_EVENTS.get((kind, action))
        if action == "complete" and not res.data.get("completed"):
            event_type = None  # marked not done: HighLevel sends nothing
        if emit and event_type:
            from sandbox.api.handlers.users import user_event_extra
            from sandbox.state import events

            extra = user_event_extra(res.data) if kind == "user" else None
            events.event_emit(
                event_type=event_type, location_id=location_id, data=res.data, extra=extra
            )
            announced[(kind, res.resource_id)] = event_type
        changed[(kind, res.resource_id)] = (at, action)
        if emit:
            time.sleep(pace)

    def live(kind):
        return list(store.resources_query(kind=kind, location_id=location_id).order_by("seq"))

    def n_of(rows):
        return max(1, round(len(rows) * fraction))

    contacts = live("contact")
    touched_contacts = set()
    # Contacts: updates, creates, deletes.
    picks = rng.sample(contacts, 3 * n_of(contacts))
    n = n_of(contacts)
    for res in picks[:n]:
        store.resource_update(res=res, changes={"lastName": res.data["lastName"] + "-x"})
        note("contact", res, "update")
        touched_contacts.add(res.resource_id)
    for res in picks[n : 2 * n]:
        touched_contacts.add(res.resource_id)
        store.resource_delete(res=res)
        note("contact", res, "delete")
        # HighLevel deletes a contact's tasks and notes with it (as the sandbox's DELETE does).
        for child in Resource.objects.filter(parent_id=res.resource_id, deleted=False):
            child.deleted = True
            child.save(update_fields=["deleted", "updated_at"])
            changed[(child.kind, child.resource_id)] = (time.time(), "delete")  # no event
    for k in range(n):
        res = store.resource_create(
            kind="contact",
            location_id=location_id,
            company_id=company,
            data={"firstName": "New", "lastName": f"Contact{k}", "email": f"new{k}@bench.test"},
        )
        note("contact", res, "create")
    unchanged = [c.resource_id for c in contacts if c.resource_id not in touched_contacts]
    # Tasks: edits, completions, creates, deletes.
    tasks = [t for t in live("task") if t.parent_id not in touched_contacts]
    n = n_of(tasks)
    picks = rng.sample(tasks, 3 * n)
    for res in picks[:n]:
        store.resource_update(res=res, changes={"title": res.data["title"] + " (edited)"})
        note("task", res, "update")
    for res in picks[n : 2 * n]:
        store.resource_update(res=res, changes={"completed": not res.data.get("completed")})
        note("task", res, "complete")
    for res in picks[2 * n :]:
        store.resource_delete(res=res)
        note("task", res, "delete")
    for k in range(n):
        contact_id = rng.choice(unchanged)
        res = store.resource_create(
            kind="task",
            location_id=location_id,
            company_id=company,
            parent_id=contact_id,
            data={"title": f"New task {k}", "contactId": contact_id, "completed": False},
        )
        note("task", res, "create")
    # Notes: added to unchanged contacts, edited, deleted.
    notes = [x for x in live("note") if x.parent_id not in touched_contacts]
    n = n_of(notes)
    picks = rng.sample(notes, 2 * n)
    for k in range(n):
        contact_id = rng.choice(unchanged)
        res = store.resource_create(
            kind="note",
            location_id=location_id,
            company_id=company,
            parent_id=contact_id,
            data={"body": f"New note {k}", "contactId": contact_id},
        )
        note("note", res, "create")
    for res in picks[:n]:
        store.resource_update(res=res, changes={"body": res.data["body"] + " (edited)"})
        note("note", res, "update")
    for res in picks[n:]:
        store.resource_delete(res=res)
        note("note", res, "delete")
    # Appointments: moved into the future, created, deleted.
    appointments = live("appointment")
    n = n_of(appointments)
    picks = rng.sample(appointments, 2 * n)
    now = datetime.now(UTC).replace(microsecond=0)
    calendars = sorted({a.data["calendarId"] for a in appointments})
    for res in picks[:n]:
        begin = now + timedelta(days=rng.randint(10, 50), hours=rng.randint(0, 8))
        store.resource_update(
            res=res,
            changes={
                "startTime": begin.isoformat().replace("+00:00", "Z"),
                "endTime": (begin + timedelta(minutes=45)).isoformat().replace("+00:00", "Z"),
            },
        )
        note("appointment", res, "move")
    for res in picks[n:]:
        store.resource_delete(res=res)
        note("appointment", res, "delete")
    for k in range(n):
        begin = now + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
        res = store.resource_create(
            kind="appointment",
            location_id=location_id,
            company_id=company,
            data={
                "calendarId": rng.choice(calendars),
                "contactId": rng.choice(unchanged),
                "title": f"New appointment {k}",
                "appointmentStatus": "confirmed",
                "startTime": begin.isoformat().replace("+00:00", "Z"),
                "endTime": (begin + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
            },
        )
        note("appointment", res, "create")
    # Users and opportunities: updates, creates, deletes.
    for kind, field in (("user", "lastName"), ("opportunity", "name")):
        rows = live(kind)
        n = n_of(rows)
        picks = rng.sample(rows, 2 * n)
        for res in picks[:n]:
            store.resource_update(res=res, changes={field: res.data[field] + " (edited)"})
            note(kind, res, "update")
        for res in picks[n:]:
            store.resource_delete(res=res)
            note(kind, res, "delete")
        template = dict(rows[0].data)
        template.pop("id", None)
        for k in range(n):
            data = {**template, field: f"{template[field]} new {k}"}
            if kind == "user":
                data["email"] = f"new.user.{k}@staff.example.com"
            res = store.resource_create(
                kind=kind, location_id=location_id, company_id=company, data=data
            )
            note(kind, res, "create")
    assert Resource.objects.filter(location_id=location_id).exists()
    return changed, announced


def backfill_all(subscriptions):
    """Run each subscription until its backfill finished."""
    for subscription in subscriptions:
        while subscription.backfill_finished_at is None:
            run_inline(subscription)


def poll_all(subscriptions):
    """One poll run of each subscription, as the 5-minute schedule would. Returns the requests
    ({plan: poll requests}, {plan: walk requests}) summed over the subscriptions."""
    polls, walks = Counter(), Counter()
    for subscription in subscriptions:
        job = run_inline(subscription)
        polls[subscription.plan] += job.result.get("poll_requests", 0)
        walks[subscription.plan] += job.result.get("walk_requests", 0)
    return polls, walks


def walk_all(subscriptions, walks=None, spans=None):
    """A complete reconciliation walk of each subscription (as many runs as it takes). Adds the
    walk requests to ``walks`` ({plan: requests}) and returns it; with ``spans`` ({}), records
    when each plan's walk started and ended (``time.time()``)."""
    from integrations.models import Subscription

    walks = Counter() if walks is None else walks
    for subscription in subscriptions:
        started = time.time()
        Subscription.objects.filter(pk=subscription.pk).update(full_pass_requested=True)
        subscription.refresh_from_db()
        while subscription.full_pass_requested:  # a walk longer than a job's time goes on
            job = run_inline(subscription)
            walks[subscription.plan] += job.result.get("walk_requests", 0)
        if spans is not None:
            spans[subscription.plan] = (started, time.time())
    return walks
