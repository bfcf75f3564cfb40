"""Key rotation for secrets at rest, and the secrets to redact for a connection."""

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
    return counts


def connection_secrets_get(*, connection_id: int | None) -> tuple[str, ...]:
    """The values to redact wherever something about ``connection_id`` is shown or stored."""
    if connection_id is None:
        return ()
    connection = Connection.objects.select_related("app").filter(pk=connection_id).first()
    return connection_secrets(connection)
