"""One error contract: the job runner asks the error (``permanent``, ``retry_after``), never its
class, and every error class of the portal's layers below the interfaces carries the contract."""

import importlib
import inspect
import pkgutil
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Job
from integrations.sync import jobs as job_services
from integrations.sync.jobs import job_enqueue, job_run
from integrations.sync.outbound import EventNotReady
from portal.errors import PortalError

PACKAGES = ("integrations.ghl", "integrations.catalog", "integrations.sync", "mappings", "rankr")
CORE = ("portal.crypto", "portal.errors", "portal.services")
# Control flow inside one function, never out of a job: a lapsed claim ends the run quietly.
INTERNAL = {"integrations.sync.subscriptions.run.Superseded"}


class NotYet(PortalError):
    """An error of no HighLevel kind at all: transient, with its own wait."""

    permanent = False


def not_yet_handler(job):
    raise NotYet("the upstream export is still running", retry_after=42)


def wont_ever_handler(job):
    raise PortalError("the location was deleted")


def _modules():
    for package in PACKAGES:
        module = importlib.import_module(package)
        yield module
        for info in pkgutil.walk_packages(module.__path__, prefix=package + "."):
            if ".migrations" not in info.name:
                yield importlib.import_module(info.name)
    for name in CORE:
        yield importlib.import_module(name)


def test_every_error_class_below_the_interfaces_carries_the_contract():
    seen = []
    for module in _modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                path = f"{module.__name__}.{name}"
                seen.append(path)
                if path not in INTERNAL:
                    assert issubclass(value, PortalError), (
                        f"{path} does not carry the error contract"
                    )
    assert "integrations.ghl.errors.GhlError" in seen and "mappings.rules.MappingError" in seen


def test_event_not_ready_is_transient_without_posing_as_a_highlevel_error():
    from integrations.ghl.errors import GhlError

    error = EventNotReady("the create has not finished", retry_after=30)
    assert not issubclass(EventNotReady, GhlError)
    assert (error.permanent, error.retry_after) == (False, 30)


@pytest.fixture
def contract_handlers(monkeypatch):
    monkeypatch.setitem(
        job_services.JOB_HANDLERS,
        "action",
        "tests.integrations.test_error_contract.not_yet_handler",
    )
    monkeypatch.setitem(
        job_services.JOB_HANDLERS,
        "resync",
        "tests.integrations.test_error_contract.wont_ever_handler",
    )


@pytest.mark.django_db
def test_a_transient_error_of_any_class_is_retried_when_it_says(contract_handlers):
    job = job_enqueue(kind="action", idempotency_key="contract-1")
    before = timezone.now()
    assert job_run(job_id=job.pk) == Job.Status.QUEUED
    job.refresh_from_db()
    assert job.error_class == "NotYet"
    assert timedelta(seconds=41) < job.next_attempt_at - before < timedelta(seconds=44)


@pytest.mark.django_db
def test_a_permanent_error_of_any_class_fails_at_once(contract_handlers):
    job = job_enqueue(kind="resync", idempotency_key="contract-2")
    assert job_run(job_id=job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert job.attempts == 1 and job.next_attempt_at is None
