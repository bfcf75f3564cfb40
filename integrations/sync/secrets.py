"""Key rotation for secrets at rest, and the secrets to redact for a connection."""

from allauth.mfa.models import Authenticator
from django.db import transaction

from integrations.ghl.models import Connection, HighLevelApp
from portal.crypto import secret_rotate
from portal.redact import connection_secrets

ENCRYPTED_COLUMNS: dict[type[HighLevelApp] | type[Connection], list[str]] = {
    HighLevelApp: ["client_secret_encrypted"],
    Connection: ["access_token_encrypted", "refresh_token_encrypted"],
}


def secrets_rotate() -> dict[str, int]:
    """Re-encrypt every secret under the newest key, one row at a time under its row lock.

    The lock is the one token refresh takes, and the row is re-read after it, so a refresh that
    commits meanwhile is never overwritten with the older token.
    """
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED_COLUMNS.items():
        done = 0
        for pk in model.objects.values_list("pk", flat=True).order_by("pk"):
            with transaction.atomic():
                row = model.objects.select_for_update().filter(pk=pk).first()
                if row is None:
                    continue
                for column in columns:
                    setattr(
                        row,
                        column,
                        secret_rotate(
                            ciphertext=getattr(row, column),
                            label=f"{model.__name__}.{column} (id {pk})",
                        ),
                    )
                model.objects.filter(pk=pk).update(**{c: getattr(row, c) for c in columns})
                done += 1
        counts[str(model._meta.verbose_name_plural)] = done
    counts["two-factor authenticators"] = _authenticators_rotate()
    return counts


def _authenticators_rotate() -> int:
    """TOTP secrets and recovery-code seeds (encrypted by portal.adapters.PortalMFAAdapter)."""
    done = 0
    for pk in Authenticator.objects.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            row = Authenticator.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                continue
            data = dict(row.data)
            label = f"two-factor authenticator (id {pk})"
            for key in ("secret", "seed"):
                if data.get(key):
                    data[key] = secret_rotate(ciphertext=data[key], label=label)
            if data.get("migrated_codes"):
                data["migrated_codes"] = [
                    secret_rotate(ciphertext=code, label=label) for code in data["migrated_codes"]
                ]
            Authenticator.objects.filter(pk=pk).update(data=data)
            done += 1
    return done


def connection_secrets_get(*, connection_id: int | None) -> tuple[str, ...]:
    """The values to redact wherever something about ``connection_id`` is shown or stored."""
    if connection_id is None:
        return ()
    connection = Connection.objects.select_related("app").filter(pk=connection_id).first()
    return connection_secrets(connection)
