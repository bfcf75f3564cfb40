"""Support re-runs failed jobs and nothing more: replaying a job a person started needs the
permission the act itself needs; resync stays within the locations a user may see."""

import pytest
from django.urls import reverse

from integrations.models import Job
from integrations.sync.outbound import USER_CREATE
from integrations.sync.resync import resync_enqueue
from integrations.sync.targets import EventError
from portal.models import Agency, Location

pytestmark = pytest.mark.django_db


def failed(location, kind, **extra):
    return Job.objects.create(
        kind=kind,
        status="failed",
        location=location,
        idempotency_key=f"{kind}-{location.pk}-{Job.objects.count()}",
        error_message="HTTP 503",
        **extra,
    )


def rerun(client, job):
    return client.post(reverse("admin:integrations_job_rerun", args=[job.pk]))


@pytest.mark.parametrize(
    ("kind", "extra", "needed"),
    [
        ("action", {"operation": "DELETE /contacts/{contactId}"}, "integrations.change_connection"),
        ("rankr_event", {"params": {"event": USER_CREATE}}, "rankr.add_rankruser"),
    ],
)
def test_support_may_not_replay_what_their_role_may_not_do(
    client, role_users, locations, kind, extra, needed
):
    job = failed(locations["A"], kind, **extra)
    client.force_login(role_users["support"])
    page = client.get(reverse("admin:integrations_job_change", args=[job.pk]))
    assert page.status_code == 200
    assert reverse("admin:integrations_job_rerun", args=[job.pk]) not in page.content.decode()
    response = rerun(client, job)
    assert response.status_code == 403 and needed in response.content.decode()
    client.post(
        reverse("admin:integrations_job_changelist"),
        {"action": "rerun", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    assert job.status == "failed" and job.reruns == 0


def test_support_re_runs_failed_sync_jobs_and_a_superuser_replays_actions(
    client, role_users, locations
):
    poll = failed(locations["A"], "poll")
    client.force_login(role_users["support"])
    assert rerun(client, poll).status_code == 302
    poll.refresh_from_db()
    assert poll.status == "queued" and poll.reruns == 1
    action = failed(locations["A"], "action", operation="GET /contacts/{contactId}")
    client.force_login(role_users["superuser"])
    assert rerun(client, action).status_code == 302
    action.refresh_from_db()
    assert action.status == "queued"


def test_resync_stays_within_the_locations_a_user_may_see(role_users, locations):
    other = Location.objects.create(
        agency=Agency.objects.create(name="Zulu Agency", company_id="comp-zulu"),
        location_id="loc-zulu",
        name="Zulu Spa",
    )
    for role, location in (("staff", locations["C"]), ("support", other)):
        with pytest.raises(EventError, match="not one of yours"):
            resync_enqueue(
                location_id=location.pk,
                entity="contact",
                ghl_id="c-1",
                user_id=role_users[role].pk,
            )
    assert not Job.objects.exists()
    job = resync_enqueue(
        location_id=locations["A"].pk,
        entity="contact",
        ghl_id="c-1",
        user_id=role_users["support"].pk,
    )
    assert job.location == locations["A"]
