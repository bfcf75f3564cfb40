"""TOTP secrets and recovery-code seeds stored before the portal's MFA adapter encrypted them are
encrypted now (Fernet, ENCRYPTION_KEYS). A value that is already a Fernet token is left alone."""

from django.db import migrations

from portal.crypto import secret_encrypt

FERNET_PREFIX = "gAAAAA"  # every Fernet token starts so; base32 secrets and hex seeds never do


def _encrypt(value):
    if not value or value.startswith(FERNET_PREFIX):
        return value
    return secret_encrypt(plaintext=value)


def encrypt_mfa_secrets(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        data = dict(authenticator.data or {})
        for key in ("secret", "seed"):
            if key in data:
                data[key] = _encrypt(data[key])
        if "migrated_codes" in data:
            data["migrated_codes"] = [_encrypt(code) for code in data["migrated_codes"]]
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_alerts"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_mfa_secrets, migrations.RunPython.noop)]
