"""Agency staff erase a person from the contacts list in Chromium at 1366 px: the action asks
to confirm, says what goes, queues the job; the contact's page afterwards shows it emptied."""

import pytest
from django.urls import reverse

from integrations.models import Job
from integrations.sync.jobs import job_run
from rankr.models import Contact, Note

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_erase_a_person_from_the_contacts_list(wide, steps, role_users, locations):
    contact = Contact.objects.create(
        location=locations["A"],
        ghl_id="c-jane",
        email="jane.roe@example.org",
        first_name="Jane",
        last_name="Quillfeather",
        phone="+14155550123",
    )
    Note.objects.create(
        location=locations["A"], ghl_id="n-1", contact_ghl_id="c-jane", content="Jane's note"
    )
    page = wide("staffer")
    page.goto(reverse("admin:rankr_contact_changelist"))
    page.check(f"input[name=_selected_action][value='{contact.pk}']")
    page.select_option("select[name=action]", "erase_personal_data")
    steps.shot(page, "contact selected, erase chosen")
    page.click("button[name=index]")
    page.wait_for_selector("text=This cannot be undone")
    steps.shot(page, "confirm page")
    assert "Jane Quillfeather" in page.content()
    page.click("input[value='Erase personal data']")
    page.wait_for_selector("text=Erasure queued for 1 contact(s)")
    steps.shot(page, "erasure queued")

    assert job_run(job_id=Job.objects.get(kind="erase").pk) == "succeeded"
    page.goto(reverse("admin:rankr_contact_change", args=[contact.pk]))
    steps.shot(page, "contact page after erasure")
    html = page.content()
    assert "Quillfeather" not in html and "jane.roe@example.org" not in html
    assert Note.objects.get().content == ""
