from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.sync.erasure import ErasureError, person_erase
from portal.models import Location


class Command(BaseCommand):
    help = (
        "Erase a person's personal data at one location: their Rankr records (and the records "
        "under them) keep their rows with personal fields emptied, and history, sync-log "
        "bodies, webhook payloads, job inputs and results, kept payloads and export queries "
        "that mention them are masked. Leaves a tombstone per record (no personal data) and one "
        "audit event."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--location", required=True, help="HighLevel location id (or the portal's id)."
        )
        parser.add_argument("--email", default=None, help="The person's e-mail address.")
        parser.add_argument("--phone", default=None, help="The person's phone number.")
        parser.add_argument(
            "--actor", default=None, help="Username recorded in the audit event as who erased."
        )

    def handle(self, *args, location, email, phone, actor, **options):
        if not (email or phone):
            raise CommandError("Give --email or --phone (or both).")
        found = Location.objects.filter(location_id=location).first()
        if found is None and location.isdigit():
            found = Location.objects.filter(pk=int(location)).first()
        if found is None:
            raise CommandError(f"No location {location!r} (HighLevel id or portal id).")
        actor_id = None
        if actor:
            user = get_user_model().objects.filter(username=actor).first()
            if user is None:
                raise CommandError(f"No user {actor!r}.")
            actor_id = user.pk
        try:
            erasure = person_erase(
                location_id=found.pk, email=email, phone=phone, actor_id=actor_id
            )
        except ErasureError as exc:
            raise CommandError(str(exc)) from None
        changed = ", ".join(f"{name} {n}" for name, n in erasure.rows.items() if n) or "none"
        self.stdout.write(
            f"Erased at {found}: tombstones {erasure.tombstone_ids or 'none new'}; rows changed: "
            f"{changed}; audit event #{erasure.audit_event_id}."
        )
