"""Resync by id with a wrong contact id never soft-deletes a live record.

HighLevel answers 404 for a task or note asked under the wrong contact, exactly as for one that
is gone; only a record Rankr files under that same contact may be taken as deleted.
"""

import pytest

from integrations.sync.jobs import job_run
from integrations.sync.resync import resync_enqueue
from rankr.models import Note, Task

pytestmark = pytest.mark.django_db


def run(job):
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_wrong_contact_id_leaves_the_live_task_and_says_which_contact_rankr_has(
    events_connection, templates, location, mocked, api_base
):
    Task.objects.create(location=location, ghl_id="t-1", contact_ghl_id="c-real", title="Quote")
    mocked.get(f"{api_base}/contacts/c-typo/tasks/t-1", status=404, json={"message": "Not found"})
    job = run(
        resync_enqueue(
            location_id=location.pk, entity="task", ghl_id="t-1", contact_ghl_id="c-typo"
        )
    )
    assert Task.objects.get(ghl_id="t-1").deleted_at is None
    assert job.status == "failed"
    assert "c-real" in job.error_message and "Nothing was deleted" in job.error_message


def test_a_note_whose_contact_rankr_does_not_know_is_not_deleted_on_404(
    events_connection, templates, location, mocked, api_base
):
    Note.objects.create(location=location, ghl_id="n-1", title="Call back")
    mocked.get(f"{api_base}/contacts/c-any/notes/n-1", status=404, json={"message": "Not found"})
    job = run(
        resync_enqueue(location_id=location.pk, entity="note", ghl_id="n-1", contact_ghl_id="c-any")
    )
    assert Note.objects.get(ghl_id="n-1").deleted_at is None and job.status == "failed"


def test_a_task_gone_under_its_own_contact_is_still_soft_deleted(
    events_connection, templates, location, mocked, api_base
):
    Task.objects.create(location=location, ghl_id="t-2", contact_ghl_id="c-real", title="Quote")
    mocked.get(f"{api_base}/contacts/c-real/tasks/t-2", status=404, json={"message": "Not found"})
    job = run(
        resync_enqueue(
            location_id=location.pk, entity="task", ghl_id="t-2", contact_ghl_id="c-real"
        )
    )
    assert job.status == "succeeded" and job.result["deleted"] is True
    assert Task.objects.get(ghl_id="t-2").deleted_at is not None
