"""One sample object per registered admin model, for the admin smoke test.

Every app that registers an admin adds a factory here: `(location, users) -> saved object`,
with the object belonging to `location` where the model is location-owned.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from integrations.models import WebhookEvent
from portal.models import AuditEvent


def _task(success):
    def make(location, users):
        now = timezone.now()
        return Task.objects.create(
            id=f"task-{int(success)}-{now.timestamp()}",
            name=f"sample-{success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
        )

    return make


SAMPLES = {
    "auth.User": lambda location, users: users["staff"],
    "auth.Group": lambda location, users: Group.objects.get(name="Support"),
    "account.EmailAddress": lambda location, users: EmailAddress.objects.create(
        user=users["staff"], email=users["staff"].email, primary=True, verified=True
    ),
    "mfa.Authenticator": lambda location, users: Authenticator.objects.create(
        user=users["superuser"], type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00" * 20, "used_mask": 0}
    ),
    "portal.Agency": lambda location, users: location.agency,
    "portal.Location": lambda location, users: location,
    "portal.AuditEvent": lambda location, users: AuditEvent.objects.create(
        actor=users["superuser"], action="sample", location=location, target="sample"
    ),
    "integrations.WebhookEvent": lambda location, users: WebhookEvent.objects.create(
        webhook_id="wh-sample", event_type="ContactCreate", location=location, payload={}
    ),
    "django_q.Success": _task(True),
    "django_q.Failure": _task(False),
    "django_q.Schedule": lambda location, users: Schedule.objects.create(func="math.floor", name="sample"),
    "django_q.OrmQ": lambda location, users: OrmQ.objects.create(
        key="portal", payload="x", lock=timezone.now()
    ),
}
