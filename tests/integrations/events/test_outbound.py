"""Rankr users and leads into HighLevel, idempotently: nothing created twice on a re-run."""

import pytest
import requests
from django.core.exceptions import ValidationError
from django.urls import reverse
from responses import matchers

from integrations.models import Job
from integrations.sync.jobs import job_rerun, job_run
from integrations.sync.rankr_events import rankr_lead_create, rankr_user_create, rankr_user_delete
from rankr.models import Contact, RankrUser
from tests.integrations.conftest import ACCESS

HEADERS = {"Authorization": f"Bearer {ACCESS}", "Version": "2021-07-28"}


def run(job):
    job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def the_job(event):
    return Job.objects.get(kind="rankr_event", params__event=event)


def body_has(expected):
    """Match a JSON body on the given keys, and check the generated password is there."""

    def match(request):
        import json

        body = json.loads(request.body)
        ok = (
            all(body.get(k) == v for k, v in expected.items())
            and len(body.get("password", "")) >= 20
        )
        return ok, "" if ok else f"body {body} lacks {expected}"

    return match


@pytest.mark.django_db
def test_a_new_rankr_user_is_created_in_highlevel_through_the_mapping(
    events_connection, templates, location, mocked, api_base, sleeps
):
    user = rankr_user_create(
        location_id=location.pk,
        email=" Ada@Example.com",
        full_name="Ada King Lovelace",
        role="Admin",
    )
    mocked.get(
        f"{api_base}/users/search",
        match=[
            matchers.header_matcher(HEADERS),
            matchers.query_param_matcher(
                {
                    "locationId": "loc-1",
                    "companyId": "comp-1",
                    "query": "ada@example.com",
                    "skip": "0",
                    "limit": "100",
                }
            ),
        ],
        json={"users": [], "count": 0},
    )
    create = mocked.post(
        f"{api_base}/users/",
        match=[
            matchers.header_matcher(HEADERS),
            body_has(
                {
                    "email": "ada@example.com",
                    "firstName": "Ada",
                    "lastName": "King Lovelace",
                    "role": "admin",
                    "type": "account",
                    "companyId": "comp-1",
                    "locationIds": ["loc-1"],
                }
            ),
        ],
        json={"id": "u-1", "email": "ada@example.com"},
        headers={"x-trace-id": "tr-9"},
    )
    job = run(the_job("user_create"))
    assert job.status == "succeeded", job.error_message
    assert (job.result["ghl_id"], job.result["trace_id"], job.operation) == (
        "u-1",
        "tr-9",
        "POST /users/",
    )
    assert RankrUser.objects.get(pk=user.pk).ghl_id == "u-1"
    assert create.call_count == 1


@pytest.mark.django_db
def test_a_create_whose_answer_was_lost_is_not_sent_twice(
    events_connection, templates, location, mocked, api_base, sleeps
):
    user = rankr_user_create(
        location_id=location.pk, email="ada@example.com", full_name="Ada Lovelace", role="user"
    )
    listing = mocked.get(f"{api_base}/users/search", json={"users": [], "count": 0})
    lost = mocked.post(f"{api_base}/users/", body=requests.ConnectionError("reset by peer"))
    job = run(the_job("user_create"))
    # One send only: the door does not resend a create blind; the job waits to retry.
    assert lost.call_count == 1 and job.status == "queued" and job.next_attempt_at
    # HighLevel did create it: the retry finds it by email and adopts it.
    mocked.replace(
        "GET",
        f"{api_base}/users/search",
        json={"users": [{"id": "u-1", "email": "ADA@example.com"}]},
    )
    Job.objects.filter(pk=job.pk).update(next_attempt_at=None)
    job = run(job)
    assert job.status == "succeeded" and job.result["adopted"] is True and lost.call_count == 1
    assert RankrUser.objects.get(pk=user.pk).ghl_id == "u-1"
    assert job.error_class == "" and listing.call_count == 1


@pytest.mark.django_db
def test_a_rerun_after_the_id_was_checkpointed_calls_nothing(
    events_connection, templates, location, mocked, api_base
):
    user = rankr_user_create(location_id=location.pk, email="ada@example.com")
    job = the_job("user_create")
    Job.objects.filter(pk=job.pk).update(status="failed", result={"ghl_id": "u-1"})
    assert job_rerun(job_ids=[job.pk], user_id=None) == 1
    job = run(job)
    assert job.status == "succeeded" and len(mocked.calls) == 0
    assert RankrUser.objects.get(pk=user.pk).ghl_id == "u-1"


@pytest.mark.django_db
def test_deleting_a_rankr_user_deletes_it_in_highlevel_once(
    events_connection, templates, location, mocked, api_base
):
    user = RankrUser.objects.create(location=location, ghl_id="u-1", email="ada@example.com")
    rankr_user_delete(rankr_user_id=user.pk)
    assert not RankrUser.objects.exists()
    delete = mocked.delete(
        f"{api_base}/users/u-1",
        match=[matchers.header_matcher(HEADERS)],
        json={"succeded": True, "message": "deleted"},
    )
    job = run(the_job("user_delete"))
    assert job.status == "succeeded" and job.result["ghl_id"] == "u-1" and delete.call_count == 1
    Job.objects.filter(pk=job.pk).update(status="failed")
    mocked.replace(
        "DELETE", f"{api_base}/users/u-1", status=404, json={"message": "User not found"}
    )
    job_rerun(job_ids=[job.pk], user_id=None)
    assert run(job).result["already_deleted"] is True
    # HighLevel answers 400 "not found" where an operation documents no 404: the same.
    Job.objects.filter(pk=job.pk).update(status="failed")
    mocked.replace(
        "DELETE", f"{api_base}/users/u-1", status=400, json={"message": "User not found"}
    )
    job_rerun(job_ids=[job.pk], user_id=None)
    assert run(job).result["already_deleted"] is True
    Job.objects.filter(pk=job.pk).update(status="failed")
    mocked.replace(
        "DELETE", f"{api_base}/users/u-1", status=400, json={"message": "userId is invalid"}
    )
    job_rerun(job_ids=[job.pk], user_id=None)
    assert run(job).status == "failed"


@pytest.mark.django_db
def test_a_delete_waits_for_the_create_it_follows(
    events_connection, templates, location, mocked, api_base
):
    user = rankr_user_create(location_id=location.pk, email="ada@example.com")
    rankr_user_delete(rankr_user_id=user.pk)
    delete = run(the_job("user_delete"))
    assert delete.status == "queued" and delete.error_class == "EventNotReady" and not mocked.calls
    create = run(the_job("user_create"))
    assert create.result["skipped"].startswith("The Rankr user was deleted")
    # Nothing was sent, so a HighLevel user with the same email is someone else's: left alone.
    Job.objects.filter(pk=delete.pk).update(next_attempt_at=None)
    assert run(delete).result["skipped"] == "The user never reached HighLevel: nothing to delete."
    assert not mocked.calls


@pytest.mark.django_db
def test_a_delete_after_a_failed_create_finds_the_user_by_email(
    events_connection, templates, location, mocked, api_base
):
    user = rankr_user_create(location_id=location.pk, email="ada@example.com")
    Job.objects.filter(pk=the_job("user_create").pk).update(status="dead")  # its answer was lost
    rankr_user_delete(rankr_user_id=user.pk)
    mocked.get(
        f"{api_base}/users/search", json={"users": [{"id": "u-7", "email": "ada@example.com"}]}
    )
    delete = mocked.delete(f"{api_base}/users/u-7", json={"succeded": True})
    job = run(the_job("user_delete"))
    assert job.status == "succeeded" and job.result["ghl_id"] == "u-7" and delete.call_count == 1


@pytest.mark.django_db
def test_a_new_lead_is_upserted_into_highlevel_and_keeps_its_id(
    events_connection, templates, location, mocked, api_base
):
    lead = rankr_lead_create(
        location_id=location.pk,
        values={
            "email": "Lead@X.io",
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone": "415 555 0100",
        },
    )
    upsert = mocked.post(
        f"{api_base}/contacts/upsert",
        match=[
            matchers.header_matcher(HEADERS),
            matchers.json_params_matcher(
                {
                    "locationId": "loc-1",
                    "email": "lead@x.io",
                    "firstName": "Grace",
                    "lastName": "Hopper",
                    "name": "Grace Hopper",
                    "phone": "+14155550100",
                    "tags": [],
                    "source": "Rankr",
                }
            ),
        ],
        json={"new": True, "contact": {"id": "c-1"}},
    )
    job = run(the_job("lead_create"))
    assert job.status == "succeeded" and job.result["new"] is True and upsert.call_count == 1
    assert Contact.objects.get(pk=lead.pk).ghl_id == "c-1"
    Job.objects.filter(pk=job.pk).update(status="failed", result={})
    job_rerun(job_ids=[job.pk], user_id=None)
    assert (
        run(job).status == "succeeded" and upsert.call_count == 1
    )  # the id on the lead was enough


@pytest.mark.django_db
def test_a_lead_whose_webhook_came_back_first_stays_one_row(
    events_connection, templates, location, mocked, api_base
):
    lead = rankr_lead_create(location_id=location.pk, values={"phone": "4155550100"})
    twin = Contact.objects.create(location=location, ghl_id="c-1", phone="+14155550100")
    mocked.post(f"{api_base}/contacts/upsert", json={"new": True, "contact": {"id": "c-1"}})
    run(the_job("lead_create"))
    assert list(Contact.objects.values_list("pk", "ghl_id")) == [(lead.pk, "c-1")]
    assert twin.pk != lead.pk


@pytest.mark.django_db
def test_bad_rankr_input_is_refused_and_nothing_is_queued(location):
    with pytest.raises(ValidationError, match="email is required"):
        rankr_user_create(location_id=location.pk, email="  ")
    with pytest.raises(ValidationError, match="not an email"):
        rankr_user_create(location_id=location.pk, email="ada-at-example")
    with pytest.raises(ValidationError, match="email or a phone"):
        rankr_lead_create(location_id=location.pk, values={"first_name": "Ada"})
    with pytest.raises(ValidationError, match="no field colour"):
        rankr_lead_create(location_id=location.pk, values={"email": "a@x.io", "colour": "red"})
    assert (
        not Job.objects.exists() and not RankrUser.objects.exists() and not Contact.objects.exists()
    )


@pytest.mark.django_db
def test_without_the_mapping_the_job_fails_saying_which_template(events_connection, location):
    rankr_user_create(location_id=location.pk, email="ada@example.com")
    job = run(the_job("user_create"))
    assert (
        job.status == "failed"
        and "Rankr → HighLevel mapping for users (POST /users/)" in job.error_message
    )


@pytest.mark.django_db
def test_the_admin_add_and_delete_go_through_the_services(client, role_users, locations):
    client.force_login(role_users["staff"])
    a = locations["A"]
    response = client.post(
        reverse("admin:rankr_rankruser_add"),
        {"location": a.pk, "email": "new@x.io", "full_name": "New User", "role": "user"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = RankrUser.objects.get()
    assert the_job("user_create").params["record_id"] == user.pk and user.ghl_id is None
    response = client.post(reverse("admin:rankr_rankruser_delete", args=[user.pk]), {"post": "yes"})
    assert response.status_code == 302 and not RankrUser.objects.exists()
    assert the_job("user_delete").params["email"] == "new@x.io"
    refused = client.post(reverse("admin:rankr_contact_add"), {"location": a.pk, "first_name": "X"})
    assert "email or a phone" in refused.content.decode()
    client.post(
        reverse("admin:rankr_contact_add"), {"location": a.pk, "email": "lead@x.io", "tags": "[]"}
    )
    assert the_job("lead_create").params["record_id"] == Contact.objects.get().pk
