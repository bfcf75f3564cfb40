"""Locations, social planner tags and statistics, course import, associations' relations, blogs."""

from sandbox.access.models import SandboxLocation
from sandbox.access.services.webhooks import webhook_emit
from sandbox.api.context import Call, Reply
from sandbox.api.handlers.crud import Crud, wrap_many
from sandbox.api.handlers.paging import page_rows, page_window
from sandbox.errors import not_found
from sandbox.state import events, store

METRICS = ("posts", "likes", "followers", "impressions", "comments")


def location_get(call: Call) -> Reply:
    return Reply({"location": location_resource(call).data})


def location_update(call: Call) -> Reply:
    res = store.resource_update(res=location_resource(call), changes=call.body)
    location_event(event_type="LocationUpdate", res=res)
    return Reply(res.data)


def location_create(call: Call) -> Reply:
    res = Crud("create", "location")(call)
    stored = store.resource_get(
        kind="location",
        resource_id=res.body["location"]["id"] if "location" in res.body else res.body["id"],
    )
    location_event(event_type="LocationCreate", res=stored)
    return res


def location_event(*, event_type: str, res) -> None:
    """LocationCreate.md / LocationUpdate.md: a company-level event naming the location by ``id``."""
    data = res.data
    company_id = data.get("companyId") or res.company_id or ""
    webhook_emit(
        company_id=company_id,
        event_type=event_type,
        payload={
            "id": res.resource_id,
            "companyId": company_id,
            "name": data.get("name", ""),
            "email": data.get("email", ""),
        },
    )


def location_resource(call: Call):
    """The stored location, else the one sandbox.access knows of (every location an app can be
    installed on exists, seeded or not)."""
    location_id = call.path("locationId")
    res = store.resource_get(kind="location", resource_id=location_id)
    if res is None:
        known = (
            SandboxLocation.objects.select_related("company")
            .filter(location_id=location_id)
            .first()
        )
        if not known:
            raise not_found(op=call.op, what="Location")
        res = store.resource_create(
            kind="location",
            location_id=location_id,
            resource_id=location_id,
            company_id=known.company.company_id,
            data={
                "name": known.name,
                "address": known.address,
                "companyId": known.company.company_id,
            },
        )
    return res


def social_tags(call: Call) -> Reply:
    qs = store.resources_query(kind="social_tag", location_id=call.location_id)
    if call.query.get("searchText"):
        qs = qs.filter(data__tag__icontains=call.query["searchText"])
    rows, _ = page_rows(qs, page_window(call, default=10))
    tags = [
        {
            "_id": r.resource_id,
            "tag": r.data.get("tag", ""),
            "locationId": r.location_id,
            **{k: v for k, v in r.data.items() if k not in ("id",)},
        }
        for r in rows
    ]
    return Reply(
        {
            "success": True,
            "statusCode": 200,
            "message": "Fetched Tags by Location ID",
            "results": {"tags": tags, "count": qs.count()},
        }
    )


def social_statistics(call: Call) -> Reply:
    """Totals of the location's stored post statistics (seeded), by metric."""
    rows = store.resources_query(kind="social_statistic", location_id=call.location_id)
    wanted = set(call.body.get("profileIds") or [])
    totals = dict.fromkeys(METRICS, 0)
    for row in rows:
        if wanted and row.data.get("profileId") not in wanted:
            continue
        for metric in METRICS:
            totals[metric] += row.data.get(metric, 0) or 0
    return Reply(
        {
            "success": True,
            "statusCode": 201,
            "message": "Fetched statistics",
            "results": {
                "dayRange": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                "totals": totals,
            },
        }
    )


def course_import(call: Call) -> Reply:
    res = store.resource_create(
        kind="course_import", location_id=call.location_id, data=dict(call.body)
    )
    return Reply({"success": True, "id": res.resource_id}, status=201)


def relation_create(call: Call) -> Reply:
    res = store.resource_create(kind="relation", location_id=call.location_id, data=dict(call.body))
    events.event_emit(event_type="RelationCreate", location_id=res.location_id, data=res.data)
    return Reply(res.data)


def relations_of_record(call: Call) -> Reply:
    record = call.path("recordId")
    qs = store.resources_query(kind="relation", location_id=call.location_id)
    rows = [r for r in qs if record in (r.data.get("firstRecordId"), r.data.get("secondRecordId"))]
    window = page_window(call)
    page = rows[window.offset : window.offset + window.limit]
    return Reply({"relations": [r.data for r in page], "total": len(rows)})


RELATION = Crud("get", "relation", id_param="relationId")


def relation_delete(call: Call) -> Reply:
    res = RELATION.load(call)
    store.resource_delete(res=res)
    events.event_emit(event_type="RelationDelete", location_id=res.location_id, data=res.data)
    return Reply(res.data)


def blog_slug_exists(call: Call) -> Reply:
    slug = call.query.get("urlSlug")
    qs = store.resources_query(kind="blog_post", location_id=call.location_id).filter(
        data__urlSlug=slug
    )
    if call.query.get("postId"):
        qs = qs.exclude(resource_id=call.query["postId"])
    return Reply({"exists": qs.exists()})


def blog_posts(call: Call) -> Reply:
    qs = store.resources_query(kind="blog_post", location_id=call.location_id)
    if call.query.get("blogId"):
        qs = qs.filter(data__blogId=call.query["blogId"])
    if call.query.get("status"):
        qs = qs.filter(data__status=call.query["status"])
    rows, _ = page_rows(qs, page_window(call))
    return Reply(wrap_many(call.op, [r.data for r in rows], total=qs.count(), key="blogs"))
