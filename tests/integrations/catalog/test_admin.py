import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from integrations.catalog.browse import rows_filter
from integrations.catalog.named import named_all
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_signed_in(client):
    user = User.objects.create_user("sam", password="x", is_staff=True)
    client.force_login(user)
    return user


def browse(client, **filters):
    response = client.get(reverse("catalog:operations") + "?" + urlencode(filters))
    assert response.status_code == 200
    return response.content.decode()


def shown_total(html):
    return int(re.search(r"(\d+) operations?", html).group(1))


def run_url(key):
    return reverse("catalog:run") + "?" + urlencode({"op": key})


def test_the_browser_lists_every_operation(client, staff_signed_in):
    html = browse(client)
    assert shown_total(html) == 576
    assert "page 1 of 6" in html
    assert "<td>ad-manager.json / Facebook Integration</td>" in html
    assert "<td>contacts.json / Contacts</td>" not in html
    assert "<td>contacts.json / Contacts</td>" in browse(client, page=2)


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"deprecated": "yes"}, 19),
        ({"access": "agency"}, 39),
        ({"scope": "contacts.write"}, None),
        ({"category": "Contacts"}, None),
        ({"kind": "unnamed"}, None),
        ({"source": "courses.json"}, 1),
        ({"q": "get-contact"}, None),
    ],
)
def test_the_browser_filters(client, staff_signed_in, filters, expected):
    html = browse(client, **filters)
    assert shown_total(html) == (expected if expected is not None else len(rows_filter(**filters)))


def test_filters_select_what_they_claim():
    assert all("contacts.write" in r.operation.scopes for r in rows_filter(scope="contacts.write"))
    contacts = {n.key for n in named_all() if n.category == "Contacts"}
    assert {r.operation.key for r in rows_filter(category="Contacts")} == contacts
    named_keys = {n.key for n in named_all()}
    assert len(rows_filter(kind="unnamed")) == 576 - len(named_keys)
    assert [r.operation.key for r in rows_filter(q="Remove Tags from")] == [
        "DELETE /contacts/{contactId}/tags"
    ]
    assert {r.operation.key for r in rows_filter(q="/contacts/{contactId}/tasks/{taskId}")} == {
        "GET /contacts/{contactId}/tasks/{taskId}",
        "PUT /contacts/{contactId}/tasks/{taskId}",
        "DELETE /contacts/{contactId}/tasks/{taskId}",
        "PUT /contacts/{contactId}/tasks/{taskId}/completed",
    }


def test_the_browser_is_for_staff_only(client):
    response = client.get(reverse("catalog:operations"))
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(User.objects.create_user("pat", password="x"))
    assert client.get(reverse("catalog:operations")).status_code == 302


def test_the_run_page_shows_the_operation_and_its_form(client, staff_signed_in):
    html = client.get(run_url("GET /contacts/")).content.decode()
    assert "start_after (query: startAfter/startAfterId/limit)" in html
    assert 'name="p_locationId"' in html and 'name="p_startAfterId"' in html
    assert "List Contacts (Deprecated)" in html and "change key" in html
    assert 'name="p_Version"' not in html


def test_an_unknown_operation_is_not_found(client, staff_signed_in):
    assert client.get(run_url("GET /nowhere")).status_code == 404


def test_a_dry_run_shows_the_request_and_sends_nothing(client, staff_signed_in):
    response = client.post(
        run_url("PUT /contacts/{contactId}"),
        {
            "dry_run": "on",
            "p_contactId": "c1",
            "body": '{"firstName": "Ada"}',
        },
    )
    assert response.status_code == 302  # post, redirect, get: a reload re-sends nothing
    html = client.get(response["Location"]).content.decode()
    assert "Dry run: nothing was sent" in html
    assert "PUT /contacts/c1" in html and "Version: 2021-07-28" in html
    assert "&quot;firstName&quot;: &quot;Ada&quot;" in html
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.actor) == (
        "catalog.dry_run",
        "PUT /contacts/{contactId}",
        staff_signed_in,
    )


def test_validation_errors_are_shown_per_field(client, staff_signed_in):
    html = client.post(
        run_url("PUT /contacts/{contactId}"),
        {
            "dry_run": "on",
            "body": '{"firstName": 5}',
            "b_lastName": "Lovelace",
        },
    ).content.decode()
    assert "This parameter is required." in html
    assert "firstName: 5 is not of type" in html
    assert "Dry run: nothing was sent" not in html
    assert not AuditEvent.objects.exists()


def test_without_permission_to_send_the_form_offers_only_a_dry_run(client, staff_signed_in):
    form = client.get(run_url("GET /contacts/{contactId}")).content.decode()
    assert 'name="dry_run"' not in form and 'value="Dry run"' in form
    response = client.post(run_url("GET /contacts/{contactId}"), {"p_contactId": "c1"})
    assert response.status_code == 302
    assert AuditEvent.objects.get().action == "catalog.dry_run"  # nothing was sent


def test_a_connection_chosen_upstream_is_kept_on_run_links(client, staff_signed_in):
    html = browse(client, connection="12", q="get-contact")
    assert 'op=GET%20%2Fcontacts%2F%7BcontactId%7D&amp;connection=12"' in html
    assert "connection=x" not in browse(client, connection="x")


def test_an_upload_operation_takes_a_file_from_the_run_form(client, staff_signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.get(run_url("POST /medias/upload-file")).content.decode()
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    without = client.post(run_url("POST /medias/upload-file"), {"dry_run": "on"}).content.decode()
    assert "Choose a file to upload" in without
    response = client.post(
        run_url("POST /medias/upload-file"),
        {
            "dry_run": "on",
            "file__file": SimpleUploadedFile("logo.png", b"\x89PNG-bytes", "image/png"),
        },
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Dry run: nothing was sent" in html
    assert "Content-Type: multipart/form-data" in html
    assert "part file: &lt;file logo.png (10 bytes, image/png)&gt;" in html
