"""LOG_FORMAT=json: one object per line naming the job, attempt, location and trace id; no secrets."""

import json
import logging

import pytest
from django.test import override_settings

from integrations.ghl.transport import LogContext, http_attempt
from integrations.models import Job
from integrations.sync import job_runs
from integrations.sync.jobs import job_run
from portal.checks import check_production_safety
from portal.logs import JsonFormatter, LogContextFilter, log_context

logger = logging.getLogger("tests.operating")
TRACE = "trace-7f3a9c"


def logging_job(job):
    """A job handler that calls HighLevel (its answer carries a trace id), then logs and fails."""
    http_attempt(
        method="GET",
        url="https://services.example.test/contacts/abc",
        headers={},
        attempt=1,
        log=LogContext(location_id=job.location_id, job_id=job.pk),
    )
    logger.warning("fetched, Authorization: Bearer sk-live-0123456789abcdef and token=abcdef123456")
    raise ValueError("boom with client_secret=s3cr3t-value-99")


@pytest.fixture
def json_lines():
    """What the console handler would print with LOG_FORMAT=json, one parsed object a record."""
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(self.format(record)))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)


@pytest.mark.django_db
def test_a_jobs_lines_name_its_job_attempt_location_and_trace_and_mask_secrets(
    json_lines, location, mocked, monkeypatch
):
    monkeypatch.setitem(
        job_runs.JOB_HANDLERS, "action", "tests.integrations.operating.test_logs.logging_job"
    )
    mocked.get("https://services.example.test/contacts/abc", json={}, headers={"x-trace-id": TRACE})
    job = Job.objects.create(kind="action", location=location, idempotency_key="k", max_attempts=1)

    assert job_run(job_id=job.pk) == Job.Status.FAILED

    ours = [line for line in json_lines if line["logger"] == "tests.operating"]
    assert len(ours) == 1
    line = ours[0]
    assert line["job_id"] == job.pk and line["job_kind"] == "action" and line["attempt"] == 1
    assert line["location_id"] == location.location_id and line["trace_id"] == TRACE
    assert line["level"] == "WARNING" and line["time"].endswith("+00:00")
    failed = [line for line in json_lines if line["logger"] == "integrations.sync.job_runs"]
    assert failed and failed[0]["job_id"] == job.pk and "ValueError" in failed[0]["message"]
    text = json.dumps(json_lines)
    for secret in ("sk-live-0123456789abcdef", "abcdef123456", "s3cr3t-value-99"):
        assert secret not in text
    assert line["message"].startswith("fetched, Authorization: ***")


def test_plain_lines_are_masked_too():
    from portal.logs import PlainFormatter

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent Bearer %s", ("sk-live-0123456789abcdef",), None
    )
    line = PlainFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO sent Bearer ***"


def test_lines_outside_any_work_carry_no_ids_and_a_context_ends_with_its_work(json_lines):
    logger.info("idle")
    with log_context(job_id=7, attempt=2):
        logger.info("inside")
    logger.info("after")
    by_message = {
        line["message"]: line for line in json_lines if line["logger"] == "tests.operating"
    }
    assert "job_id" not in by_message["idle"] and "job_id" not in by_message["after"]
    assert (by_message["inside"]["job_id"], by_message["inside"]["attempt"]) == (7, 2)


def test_an_unknown_context_field_is_refused():
    with pytest.raises(ValueError, match="email"), log_context(email="a@b.c"):
        pass


@pytest.mark.slow  # reads the settings in a child process
def test_log_format_json_and_metrics_off_in_production_without_a_token(tmp_path):
    from tests.security.envprobe import REAL_KEYS, settings_of

    production = {"DEBUG": "false", "ALLOWED_HOSTS": "portal.example.com", **REAL_KEYS}
    s = settings_of(
        ["LOGGING", "METRICS_ENABLED"],
        env_extra={**production, "LOG_FORMAT": "json"},
        tmp_path=tmp_path,
    )
    assert s["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    assert s["METRICS_ENABLED"] is False  # fails closed: no token, no metrics
    s = settings_of(
        ["METRICS_ENABLED"], env_extra={**production, "METRICS_TOKEN": "t" * 40}, tmp_path=tmp_path
    )
    assert s["METRICS_ENABLED"] is True


@pytest.mark.parametrize(
    ("token", "refused"),
    [("", True), ("short-token", True), ("x" * 40, False)],
)
def test_metrics_on_a_public_portal_need_their_own_token(settings, token, refused):
    with override_settings(
        DEBUG=False,
        PORTAL_ENV="production",
        ALLOWED_HOSTS=["portal.example.com"],
        METRICS_ENABLED=True,
        METRICS_TOKEN=token,
    ):
        found = {error.id for error in check_production_safety(None)}
    assert ("portal.E009" in found) is refused
