"""django-q2's admin pages respect the roles: no auditor resubmits or edits a schedule."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Task

from portal.models import AuditEvent

FAILURES = reverse("admin:django_q_failure_changelist")


@pytest.fixture
def failure(db):
    now = timezone.now()
    return Task.objects.create(
        id="f" * 32,
        name="failed-one",
        func="math.floor",
        args=(2.5,),
        kwargs={},
        started=now,
        stopped=now,
        success=False,
        group="jobs",
    )


@pytest.fixture
def schedule(db):
    return Schedule.objects.create(
        name="portal tick",
        func="integrations.interfaces.tasks.tick_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=-1,
    )


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda func, *args, **kw: calls.append((func, args))
    )
    return calls


def _resubmit(client, failure):
    return client.post(
        FAILURES, {"action": "resubmit", "_selected_action": [failure.pk]}, follow=True
    )


@pytest.mark.parametrize("role", ["auditor", "support", "staff"])
def test_read_only_roles_cannot_resubmit_a_task(
    client, role_users, failure, sent, role, django_capture_on_commit_callbacks
):
    client.force_login(role_users[role])
    with django_capture_on_commit_callbacks(execute=True):
        response = _resubmit(client, failure)
    assert response.status_code in (200, 403)
    if response.status_code == 200:
        assert b'value="resubmit"' not in response.content
    assert sent == []
    assert Failure.objects.filter(pk=failure.pk).exists()
    assert not AuditEvent.objects.filter(action="task.resubmitted").exists()


def test_a_superuser_resubmits_a_failure_and_it_is_audited(
    client, role_users, failure, sent, django_capture_on_commit_callbacks
):
    client.force_login(role_users["superuser"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _resubmit(client, failure)
    assert response.status_code == 200 and b"Resubmitted 1 task" in response.content
    assert sent == [("math.floor", (2.5,))]
    assert not Failure.objects.filter(pk=failure.pk).exists()
    event = AuditEvent.objects.get(action="task.resubmitted")
    assert event.actor == role_users["superuser"] and event.detail["func"] == "math.floor"


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_no_role_edits_adds_or_deletes_a_schedule(client, role_users, schedule, role):
    client.force_login(role_users[role])
    change = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    # The task pages are the platform operator's: a schedule row says not whose it is.
    assert client.get(change).status_code == 403
    response = client.post(
        change, {"name": "hijacked", "func": "os.system", "schedule_type": "O", "repeats": -1}
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:django_q_schedule_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:django_q_schedule_delete", args=[schedule.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    schedule.refresh_from_db()
    assert (
        schedule.name == "portal tick"
        and schedule.func == "integrations.interfaces.tasks.tick_task"
    )


def test_only_a_superuser_edits_a_schedule(client, role_users, schedule):
    client.force_login(role_users["superuser"])
    change = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    page = client.get(change)
    assert page.status_code == 200 and b'name="_save"' in page.content
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(minutes=5, next_run_0=timezone.now().date().isoformat(), next_run_1="00:00:00")
    response = client.post(change, data)
    assert response.status_code == 302, page.context["adminform"].form.errors
    schedule.refresh_from_db()
    assert schedule.minutes == 5


def test_the_queue_is_read_only_even_for_superusers(rf, role_users):
    if not admin.site.is_registered(OrmQ):
        pytest.skip("the ORM broker's queue admin exists only with the ORM broker")
    request = rf.get("/")
    request.user = role_users["superuser"]
    queue_admin = admin.site._registry[OrmQ]
    entry = OrmQ.objects.create(key="portal", payload="x", lock=timezone.now())
    assert not queue_admin.has_add_permission(request)
    assert not queue_admin.has_change_permission(request, entry)
    assert not queue_admin.has_delete_permission(request, entry)
    assert "delete_selected" not in queue_admin.get_actions(request)
