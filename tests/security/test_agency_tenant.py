"""The agency is the tenant: a user of agency A sees nothing of agency B, on any admin page.

The walk iterates the admin registry, so an admin added later is covered without touching this
file: its changelist, change and history pages, its CSV export, every autocomplete that lists its
objects, the dashboard and the location pages, as every role of agency A, with one object of every
model in agency B (marked "zulu" wherever the model has a name).
"""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse

from integrations.models import Connection, HighLevelApp
from portal.models import Agency, Location
from portal.roles import PLATFORM_OPERATOR
from portal.scoping import locations_for_user, user_sees_all_locations
from tests.admin_samples import SAMPLES
from tests.conftest import PASSWORD

# Users, groups and their MFA and addresses are the superuser's; the sandbox's admin too, and the
# django-q2 task pages (a task row says not whose it is) are the platform operator's alone.
# Not any agency's data: accounts, the sandbox, the task queue, and the spec deviations HighLevel's
# answers show per operation (counted by place and rule, never a value or a location).
NOT_TENANT_DATA = (
    "auth.",
    "account.",
    "mfa.",
    "sandbox",
    "django_q.",
    "integrations.SpecDeviation",
)
MARK = "zulu"


def _app(name, client_id):
    app = HighLevelApp(name=name, client_id=client_id, redirect_url="http://testserver/cb/")
    app.client_secret = f"{client_id}-secret"
    app.save()
    return app


@pytest.fixture
def tenants(role_users, locations):
    """Agency A (the fixtures' Acme, locations A-C) and agency B with one object of every model."""
    operator = get_user_model().objects.create_user(
        "operator", "operator@example.test", PASSWORD, is_staff=True
    )
    operator.groups.add(Group.objects.get(name=PLATFORM_OPERATOR))
    users = {**role_users, "operator": operator}
    agency_b = Agency.objects.create(name="Zulu Agency", company_id="comp-zulu")
    location_b = Location.objects.create(agency=agency_b, location_id="loc-zulu", name="Zulu Spa")
    zulu_app = _app("Zulu app", "zulu-client")
    zulu_app.offered_to.add(agency_b)  # B's own app
    connection = Connection(app=zulu_app, agency=agency_b, location=location_b)
    connection.access_token = "zulu-access-token"
    connection.save()
    mine, theirs = {}, {}
    for model in admin.site._registry:
        label = model._meta.label
        if label.startswith(NOT_TENANT_DATA):
            continue
        mine[model] = SAMPLES[label](location=locations["A"], users=users)
        theirs[model] = SAMPLES[label](location=location_b, users=users)
        if model is HighLevelApp:  # the sample app is shared: B's own app connects B
            theirs[model] = connection.app
        assert mine[model].pk != theirs[model].pk, label
    return {"users": users, "mine": mine, "theirs": theirs, "location_b": location_b}


def _url(model, page, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def _links_to(html, model, pk):
    return re.search(re.escape(_url(model, "change", pk)) + r'["?]', html) is not None


def _autocomplete_sources(target):
    """(source model, field name) pairs whose autocomplete lists ``target``'s objects."""
    target_admin = admin.site._registry[target]
    if not target_admin.search_fields:
        return
    for source in admin.site._registry:
        for field in source._meta.get_fields():
            if getattr(field, "related_model", None) is target and field.concrete:
                yield source, field.name


TENANT_ROLES = ["auditor", "support", "staff", "operator"]


@pytest.mark.slow  # every admin page of every model, as four roles
@pytest.mark.parametrize("role", TENANT_ROLES)
def test_a_user_of_agency_a_sees_nothing_of_agency_b_anywhere_in_the_admin(client, tenants, role):
    client.force_login(tenants["users"][role])
    leaks, seen_own = [], 0
    for model, theirs in tenants["theirs"].items():
        label = model._meta.label
        listing = client.get(_url(model, "changelist"))
        if listing.status_code == 200:
            html = listing.content.decode()
            seen_own += _links_to(html, model, tenants["mine"][model].pk)
            if _links_to(html, model, theirs.pk) or MARK in html.lower():
                leaks.append(f"{label} changelist")
            searched = client.get(_url(model, "changelist"), {"q": MARK}).content.decode()
            if _links_to(searched, model, theirs.pk):
                leaks.append(f"{label} search")
        for page in ("change", "history"):
            response = client.get(_url(model, page, theirs.pk))
            if response.status_code == 200 and (
                MARK in response.content.decode().lower() or page == "change"
            ):
                leaks.append(f"{label} {page} page of B's object")
        try:
            export = _url(model, "export")
        except NoReverseMatch:
            export = None
        if export:
            response = client.get(export)
            if response.status_code == 200:
                body = b"".join(response.streaming_content).decode().lower()
                if MARK in body:
                    leaks.append(f"{label} export")
        for source, field in _autocomplete_sources(model):
            response = client.get(
                reverse("admin:autocomplete"),
                {
                    "term": "",
                    "app_label": source._meta.app_label,
                    "model_name": source._meta.model_name,
                    "field_name": field,
                },
            )
            if response.status_code == 200 and str(theirs.pk) in {
                r["id"] for r in response.json()["results"]
            }:
                leaks.append(f"{label} autocomplete from {source._meta.label}.{field}")
    for model in admin.site._registry:
        if model._meta.label.startswith(NOT_TENANT_DATA):
            if client.get(_url(model, "changelist")).status_code == 200:
                leaks.append(f"{model._meta.label} changelist is open to {role}")
    dashboard = client.get(reverse("admin:index")).content.decode().lower()
    if MARK in dashboard:
        leaks.append("dashboard")
    location_b = tenants["location_b"].pk
    for name in ("location_overview", "location_overview_live"):
        try:
            url = reverse(f"admin:{name}", args=[location_b])
        except NoReverseMatch:
            continue
        if client.get(url).status_code == 200:
            leaks.append(f"{name} of B's location")
    assert not leaks, f"{role} sees agency B in:\n" + "\n".join(leaks)
    if role != "operator":  # a platform operator, turned off, sees no agency at all
        assert seen_own >= 5, f"{role} should see agency A's own rows ({seen_own})"


@pytest.mark.django_db
def test_auditors_and_support_see_only_the_agencies_they_are_members_of(role_users, locations):
    agency_b = Agency.objects.create(name="Zulu Agency", company_id="comp-zulu")
    location_b = Location.objects.create(agency=agency_b, location_id="loc-zulu", name="Zulu Spa")
    for role in ("auditor", "support"):
        user = role_users[role]
        assert not user_sees_all_locations(user)
        assert set(locations_for_user(user)) == set(locations.values()), role
        agency_b.members.add(user)
        assert location_b in locations_for_user(user), role
        agency_b.members.remove(user)
    staff = role_users["staff"]
    assert set(locations_for_user(staff)) == {locations["A"], locations["B"]}


@pytest.mark.django_db
def test_the_platform_operator_spans_agencies_only_when_turned_on(settings, role_users, locations):
    operator = get_user_model().objects.create_user("operator", "op@example.test", PASSWORD)
    operator.groups.add(Group.objects.get(name=PLATFORM_OPERATOR))
    location_b = Location.objects.create(
        agency=Agency.objects.create(name="Zulu Agency", company_id="comp-zulu"),
        location_id="loc-zulu",
        name="Zulu Spa",
    )
    assert settings.PLATFORM_OPERATORS_ENABLED is False  # off by default
    assert not locations_for_user(operator).exists()
    settings.PLATFORM_OPERATORS_ENABLED = True
    operator = get_user_model().objects.get(pk=operator.pk)  # a fresh permission cache
    assert user_sees_all_locations(operator)
    assert location_b in locations_for_user(operator)


@pytest.mark.django_db
def test_staff_are_assigned_within_one_agency(client, role_users, locations):
    """Assigning agency A's staff member to agency B's location is refused, with the reason."""
    location_b = Location.objects.create(
        agency=Agency.objects.create(name="Zulu Agency", company_id="comp-zulu"),
        location_id="loc-zulu",
        name="Zulu Spa",
    )
    client.force_login(role_users["superuser"])
    response = client.post(
        reverse("admin:portal_location_change", args=[location_b.pk]),
        {
            "agency": location_b.agency_id,
            "location_id": "loc-zulu",
            "name": "Zulu Spa",
            "time_zone": "UTC",
            "staff": [role_users["staff"].pk],
        },
    )
    assert response.status_code == 200
    assert "Staff are assigned within one agency" in response.content.decode()
    assert not location_b.staff.exists()
