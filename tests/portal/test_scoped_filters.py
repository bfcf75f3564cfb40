"""A plain location or agency filter never shows a staff member what they may not see."""

from django.urls import reverse

from mappings.models import Mapping
from portal.models import Agency, Location


def test_the_location_filter_lists_only_assigned_locations(client, role_users, locations):
    for key in "AC":
        Mapping.objects.create(
            location=locations[key],
            name=f"map {key}",
            entity="contact",
            direction="inbound",
            operation_key="GET /contacts/",
        )
    client.force_login(role_users["staff"])
    page = client.get(reverse("admin:mappings_mapping_changelist"))
    body = page.content.decode()
    assert page.status_code == 200 and "Location A" in body and "Location C" not in body
    filtered = client.get(
        reverse("admin:mappings_mapping_changelist"), {"location": locations["A"].pk}
    )
    assert [m.name for m in filtered.context["cl"].result_list] == ["map A"]


def test_the_agency_filter_lists_only_agencies_of_assigned_locations(client, role_users, locations):
    other = Agency.objects.create(name="Rival Agency", company_id="comp-rival")
    Location.objects.create(agency=other, location_id="loc-R", name="Rival place")
    client.force_login(role_users["staff"])
    body = client.get(reverse("admin:portal_location_changelist")).content.decode()
    assert "Acme Agency" in body and "Rival Agency" not in body
    client.force_login(role_users["superuser"])
    assert (
        "Rival Agency" in client.get(reverse("admin:portal_location_changelist")).content.decode()
    )
