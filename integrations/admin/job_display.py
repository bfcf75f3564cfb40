"""How a job reads in the admin: its status, where it is in its attempts, why a re-run may fail."""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from integrations.models import Job
from portal.timefmt import seconds_show

STATUS_COLOURS = {
    "failed": "#ba2121",
    "dead": "#7a0000",
    "succeeded": "#2e7d32",
    "skipped": "#8a6d00",
    "running": "#1565c0",
}

# Why a permanent error will come back, by error class.
PERMANENT_CAUSES = {
    "GhlNotFound": "HighLevel says the record or resource does not exist (404)",
    "GhlInvalid": "HighLevel rejected the request as invalid (400/422)",
    "GhlScopeError": "the connection lacks a scope this call needs",
    "GhlReauthRequired": "the connection needs to be re-authorised",
    "GhlNotConnected": "the location has no working connection",
    "GhlBadResponse": "HighLevel's answer could not be read",
}


def job_status_html(job, last_attempt):
    label = job.get_status_display()
    if job.status == Job.Status.QUEUED and job.attempts:
        label = "waiting to retry"
    elif job.status == Job.Status.SKIPPED:
        label = "skipped"
    html = format_html(
        '<strong style="color:{}">{}</strong>', STATUS_COLOURS.get(job.status, "#555"), label
    )
    if job.status == Job.Status.SKIPPED and job.superseded_by_id and last_attempt is not None:
        url = reverse("admin:integrations_job_change", args=[job.superseded_by_id])
        html = format_html(
            '{}: superseded by <a href="{}">job {}</a>', html, url, job.superseded_by_id
        )
    return html


def job_attempt_line(job, *, now=None):
    """``attempt 3 of 5, next in 40 s`` for a job waiting to retry; ``2 of 5`` otherwise."""
    if job.status == Job.Status.QUEUED:
        wait = (
            (job.next_attempt_at - (now or timezone.now())).total_seconds()
            if job.next_attempt_at
            else None
        )
        if job.attempts:
            line = f"attempt {job.attempts + 1} of {job.max_attempts}"
            if wait is None:
                return line
            return f"{line}, next in {seconds_show(wait)}" if wait > 0.5 else f"{line}, due now"
        if wait is not None and wait > 0.5:  # a start spread out (verify)
            return f"0 of {job.max_attempts}, starts in {seconds_show(wait)}"
    if job.status == Job.Status.RUNNING:
        return f"attempt {job.attempts} of {job.max_attempts}, running"
    return f"{job.attempts} of {job.max_attempts}"


def permanent_reason(attempt):
    """Why re-running a job whose last error is permanent will likely fail again."""
    cause = PERMANENT_CAUSES.get(
        attempt.error_class, "the portal could not process this job's data"
    )
    return (
        f"Its last attempt failed with a permanent error ({attempt.error_class}: "
        f"{attempt.error_message[:300]}): {cause}. A re-run sends the same request again, so it "
        "will likely fail the same way unless the cause was fixed (the record in HighLevel, the "
        "mapping, the connection's scopes or consent)."
    )
