"""Who may re-run which job: ``integrations.rerun_job`` (support) re-runs what the sync does by
itself (polls, backfills, webhooks); a job a person started (an action sent from *Run*, a Rankr
event, a resync, a location batch) replays that person's act, so it also needs the permission the
act itself needs. A support member re-runs failed jobs and gains nothing more."""

from typing import Any

from integrations.catalog.registry import operation_get
from integrations.sync.models import Job
from integrations.sync.outbound import LEAD_CREATE, USER_CREATE, USER_DELETE

RERUN_PERMISSION = "integrations.rerun_job"
# Sending an operation from *Run* (the catalog's permission to send) and connecting locations.
SEND_PERMISSION = "integrations.change_connection"

_EVENT_PERMISSION = {
    LEAD_CREATE: "rankr.add_contact",
    USER_CREATE: "rankr.add_rankruser",
    USER_DELETE: "rankr.delete_rankruser",
}


def job_rerun_permissions(*, job: Job) -> set[str]:
    """The permissions re-running ``job`` needs."""
    needed = {RERUN_PERMISSION}
    if job.kind in (Job.Kind.ACTION, Job.Kind.MINT):
        needed.add(SEND_PERMISSION)
    if job.kind == Job.Kind.ACTION:
        try:  # the operation's own class permission (a delete, a message, a payment...)
            permission = operation_get(job.operation).privilege.permission
        except KeyError:  # an operation the catalog no longer has: only superusers replay it
            permission = "integrations.rerun_unknown_operation"
        if permission:
            needed.add(permission)
    elif job.kind == Job.Kind.RESYNC:
        needed.add("rankr.resync_contact")
    elif job.kind == Job.Kind.RANKR_EVENT:
        event = (job.params or {}).get("event", "")
        # An event kind this table does not know is refused, never waved through.
        needed.add(_EVENT_PERMISSION.get(event, "integrations.rerun_unknown_event"))
    return needed


def job_rerun_refusal(*, job: Job, user: Any) -> str:
    """Why ``user`` may not re-run ``job`` ("" when they may)."""
    missing = sorted(p for p in job_rerun_permissions(job=job) if not user.has_perm(p))
    if not missing:
        return ""
    return (
        f"Job {job.pk} replays a {job.get_kind_display()} someone started: re-running it needs "
        f"the permission that needs ({', '.join(missing)}), which your role does not hold."
    )
