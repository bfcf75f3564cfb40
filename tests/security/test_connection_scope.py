"""Agency staff cannot create connections outside their scope, and see no other agency's names."""

import pytest
from django.urls import reverse

from integrations.models import Connection, HighLevelApp
from portal.models import Agency, Location

pytestmark = pytest.mark.django_db
ADD = reverse("admin:integrations_connection_add")


def make_app(name, client_id):
    app = HighLevelApp(
        name=name,
        mode=HighLevelApp.Mode.SANDBOX,
        client_id=client_id,
        redirect_url="http://testserver/integrations/oauth/callback/",
    )
    app.client_secret = "cs-" + client_id
    app.save()
    return app


@pytest.fixture
def world(role_users, locations):
    """Staff sees A and B of Acme; another agency (Rival) has its own app and location."""
    rival = Agency.objects.create(name="Rival Agency Secret Name", company_id="comp-rival")
    rival_location = Location.objects.create(agency=rival, location_id="loc-r", name="Rival Dental")
    ours, theirs = make_app("Acme App", "acme-app"), make_app("Rival Private App", "rival-app")
    theirs.offered_to.add(rival)  # Rival's own app
    for app, location in ((ours, locations["A"]), (theirs, rival_location)):
        connection = Connection(app=app, agency=location.agency, location=location, scopes="")
        connection.access_token = "at-" + app.client_id + "-0000"
        connection.save()
    return {"rival": rival, "ours": ours, "theirs": theirs, "rival_location": rival_location}


def test_staff_cannot_create_an_agency_connection_by_leaving_the_location_empty(
    client, role_users, world
):
    client.force_login(role_users["staff"])
    response = client.post(
        ADD,
        {
            "app": world["ours"].pk,
            "agency": world["rival"].pk,
            "location": "",
            "new_private_token": "pit-sneaky-token-123456",
        },
    )
    assert response.status_code == 200  # the form again, with its errors
    assert not Connection.objects.filter(location__isnull=True).exists()
    assert Connection.objects.count() == 2


def test_staff_cannot_connect_another_agencys_location_or_app(client, role_users, world, locations):
    client.force_login(role_users["staff"])
    acme, rival = locations["A"].agency.pk, world["rival"].pk
    for data in (
        {"app": world["theirs"].pk, "agency": acme, "location": locations["B"].pk},
        {"app": world["ours"].pk, "agency": rival, "location": world["rival_location"].pk},
        {"app": world["ours"].pk, "agency": acme, "location": locations["C"].pk},
    ):
        response = client.post(ADD, {**data, "new_private_token": "pit-sneaky-token-123456"})
        assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert Connection.objects.count() == 2


def test_staff_can_connect_their_own_location_with_a_private_token(
    client, role_users, world, locations
):
    client.force_login(role_users["staff"])
    response = client.post(
        ADD,
        {
            "app": world["ours"].pk,
            "agency": locations["B"].agency.pk,
            "location": locations["B"].pk,
            "new_private_token": "pit-own-token-123456",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    connection = Connection.objects.get(location=locations["B"])
    assert (
        connection.agency == locations["B"].agency
        and connection.access_token == "pit-own-token-123456"
    )


def test_the_add_form_lists_only_the_staffs_agencies_and_apps(client, role_users, world):
    client.force_login(role_users["staff"])
    html = client.get(ADD).content.decode()
    assert "Acme App" in html and "Acme Agency" in html
    assert "Rival Private App" not in html and "Rival Agency Secret Name" not in html


def test_list_filters_do_not_leak_other_agencies_app_names(client, role_users, world):
    client.force_login(role_users["staff"])
    html = client.get(reverse("admin:integrations_connection_changelist")).content.decode()
    assert "Acme App" in html and "Rival Private App" not in html
    client.force_login(role_users["superuser"])
    html = client.get(reverse("admin:integrations_connection_changelist")).content.decode()
    assert "Rival Private App" in html


def test_the_oauth_connect_form_lists_only_the_staffs_apps_and_agencies(client, role_users, world):
    client.force_login(role_users["staff"])
    html = client.get(reverse("integrations:connect_start")).content.decode()
    assert "Acme App" in html and "Location A" in html
    assert "Rival Private App" not in html and "Rival Agency Secret Name" not in html
    response = client.post(
        reverse("integrations:connect_start"),
        {"app": world["theirs"].pk, "kind": "location", "location": world["rival_location"].pk},
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()


def test_a_shared_app_is_offered_to_staff_whose_agency_has_no_connection_yet(
    client, role_users, world
):
    """The portal's own app (offered to no agency in particular) is how an agency's first
    location gets connected by its staff; an app offered to another agency stays hidden."""
    shared = make_app("Rankr Shared App", "shared-app")
    world["ours"].offered_to.add(world["rival"])  # Acme's app offered elsewhere: still connects A
    client.force_login(role_users["staff"])
    html = client.get(reverse("integrations:connect_start")).content.decode()
    assert "Rankr Shared App" in html and "Acme App" in html
    assert "Rival Private App" not in html
    shared.offered_to.add(world["rival"])
    html = client.get(reverse("integrations:connect_start")).content.decode()
    assert "Rankr Shared App" not in html
