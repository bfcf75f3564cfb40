import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.roles import AGENCY_STAFF, AUDITOR, ROLE_PERMISSIONS, SUPPORT
from rankr.models import RECORD_MODELS, Contact
from rankr.services import record_upsert
from tests.rankr.helpers import user_make

CONTACTS = reverse("admin:rankr_contact_changelist")


@pytest.fixture
def contacts(location, other_location):
    mine, _ = record_upsert(
        kind="contact",
        location_id=location.pk,
        ghl_id="c1",
        values={"email": "mine@x.io"},
        fingerprint="f",
    )
    theirs, _ = record_upsert(
        kind="contact",
        location_id=other_location.pk,
        ghl_id="c2",
        values={"email": "theirs@x.io"},
        fingerprint="f",
    )
    return mine, theirs


def change_url(record):
    return reverse("admin:rankr_contact_change", args=[record.pk])


def test_staff_see_only_their_locations_records_and_change_nothing(client, location, contacts):
    mine, theirs = contacts
    staff = user_make(username="staff", role=AGENCY_STAFF, locations=[location])
    client.force_login(staff)
    assert list(client.get(CONTACTS).context["cl"].result_list) == [mine]
    assert client.get(change_url(mine)).status_code == 200
    assert client.get(change_url(theirs)).status_code == 302  # "does not exist" redirect
    assert client.post(change_url(mine), {"email": "hacked@x.io"}).status_code == 403
    # Staff may add leads (sent to HighLevel as Rankr events), never edit synced records.
    assert client.get(reverse("admin:rankr_contact_add")).status_code == 200
    assert Contact.objects.get(pk=mine.pk).email == "mine@x.io"


@pytest.mark.parametrize("role", [AUDITOR, SUPPORT])
def test_auditors_and_support_read_the_records_of_every_location_of_their_agency(
    client, contacts, role
):
    client.force_login(user_make(username="reader", role=role))
    assert len(client.get(CONTACTS).context["cl"].result_list) == 2
    assert client.post(change_url(contacts[1]), {"email": "x@x.io"}).status_code == 403


def test_a_user_without_a_role_sees_no_records(client, contacts):
    client.force_login(user_make(username="nobody"))
    assert client.get(CONTACTS).status_code == 403


def test_the_deleted_filter_separates_live_and_deleted(client, contacts):
    from rankr.services import record_soft_delete

    mine, theirs = contacts
    record_soft_delete(kind="contact", location_id=theirs.location_id, ghl_id="c2")
    client.force_login(user_make(username="auditor", role=AUDITOR))
    assert list(client.get(CONTACTS, {"deleted": "no"}).context["cl"].result_list) == [mine]
    deleted = client.get(CONTACTS, {"deleted": "yes"}).context["cl"].result_list
    assert [c.pk for c in deleted] == [theirs.pk]


@pytest.mark.parametrize("role", [AGENCY_STAFF, AUDITOR, SUPPORT])
def test_roles_in_the_database_match_the_table_for_these_apps(db, role):
    granted = {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
        if app in ("rankr", "mappings")
    }
    wanted = {p for p in ROLE_PERMISSIONS[role] if p.split(".")[0] in ("rankr", "mappings")}
    assert granted == wanted
    assert {f"rankr.view_{m._meta.model_name}" for m in RECORD_MODELS.values()} <= granted


def _admin_urls(model, obj):
    info = (model._meta.app_label, model._meta.model_name)
    urls = [reverse("admin:%s_%s_changelist" % info), reverse("admin:%s_%s_add" % info)]
    if obj is not None:
        urls.append(reverse("admin:%s_%s_change" % info, args=[obj.pk]))
    return urls


@pytest.mark.slow  # every page of the Rankr apps for every role
@pytest.mark.parametrize("role", [AGENCY_STAFF, AUDITOR, SUPPORT, "superuser"])
def test_every_page_of_these_apps_opens_for_every_role(client, location, role):
    """Smoke: no page of the rankr and mappings admins errors, whoever opens it."""
    from mappings.services import mapping_template_apply

    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    for kind in RECORD_MODELS:
        record_upsert(kind=kind, location_id=location.pk, ghl_id="x1", values={}, fingerprint="")
    if role == "superuser":
        user = user_make(username="root", superuser=True)
    else:
        user = user_make(username="u", role=role, locations=[location])
    client.force_login(user)
    objects = {type(o): o for o in [mapping, mapping.versions.get()]}
    for model in RECORD_MODELS.values():
        objects[model] = model.objects.get()
    pages = [
        reverse("admin:mappings_mapping_preview", args=[mapping.pk]),
        reverse("admin:mappings_mapping_apply_template"),
    ]
    for model in admin.site._registry:
        if model._meta.app_label in ("rankr", "mappings"):
            pages += _admin_urls(model, objects.get(model))
    for url in pages:
        status = client.get(url).status_code
        assert status in (200, 403), (url, status)
    assert client.get(reverse("admin:index")).status_code == 200


def test_record_lists_never_count_rows(client, location, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.admin.rankr import ContactAdmin

    monkeypatch.setattr(ContactAdmin, "list_per_page", 2)
    for n in range(5):
        record_upsert(
            kind="contact", location_id=location.pk, ghl_id=f"c{n}", values={}, fingerprint=""
        )
    client.force_login(user_make(username="auditor", role=AUDITOR))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CONTACTS)
    cl = response.context["cl"]
    assert cl.result_count == 3 and cl.paginator.has_more  # two shown, one more read to know
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
