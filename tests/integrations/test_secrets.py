import io
import logging

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings

from integrations.ghl.client import ghl_request
from integrations.ghl.errors import GhlInvalid
from integrations.ghl.oauth import connection_token_refresh
from integrations.models import Connection, HighLevelApp, SyncLog
from portal.crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from tests.integrations.conftest import ACCESS, CLIENT_SECRET, REFRESH

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_secrets_are_stored_only_as_ciphertext(connection):
    row = Connection.objects.values("access_token_encrypted", "refresh_token_encrypted").get()
    assert ACCESS not in str(row) and REFRESH not in str(row)
    assert Connection.objects.get().access_token == ACCESS


def test_a_wrong_key_fails_loudly_instead_of_returning_ciphertext(connection):
    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(SecretUnreadable) as caught:
            _ = Connection.objects.get().access_token
    assert "ENCRYPTION_KEYS" in str(caught.value)
    assert connection.access_token_encrypted not in str(caught.value)


def test_a_secret_read_before_its_key_was_removed_is_unreadable_after(connection):
    """Decryptions are remembered (the door reads the same tokens on every request), but only
    under the keys that opened them."""
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        token = secret_encrypt(plaintext="remembered")
    with override_settings(ENCRYPTION_KEYS=[NEW, OLD]):
        assert secret_decrypt(ciphertext=token) == "remembered"
        assert secret_decrypt(ciphertext=token) == "remembered"
    with override_settings(ENCRYPTION_KEYS=[OLD]), pytest.raises(SecretUnreadable):
        secret_decrypt(ciphertext=token)


def test_rotation_keeps_every_secret_readable_under_the_new_key_alone(ghl_app, location):
    from tests.integrations.conftest import connection_make

    with override_settings(ENCRYPTION_KEYS=[OLD]):
        app = HighLevelApp.objects.get()
        app.client_secret = CLIENT_SECRET
        app.save()
        connection_make(app=ghl_app, location=location)
    with override_settings(ENCRYPTION_KEYS=[NEW, OLD]):
        out = io.StringIO()
        call_command("rotate_encryption_keys", stdout=out)
        assert "connections: 1 row(s) re-encrypted" in out.getvalue()
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        connection = Connection.objects.get()
        assert (connection.access_token, connection.refresh_token) == (ACCESS, REFRESH)
        assert HighLevelApp.objects.get().client_secret == CLIENT_SECRET


def test_rotation_refuses_loudly_when_a_key_is_missing(connection):
    from django.core.management.base import CommandError

    with override_settings(ENCRYPTION_KEYS=[NEW]):
        with pytest.raises(CommandError, match="cannot be decrypted"):
            call_command("rotate_encryption_keys", stdout=io.StringIO())


def test_encrypt_uses_the_newest_key():
    with override_settings(ENCRYPTION_KEYS=[NEW, OLD]):
        token = secret_encrypt(plaintext="hello")
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        assert secret_decrypt(ciphertext=token) == "hello"


@pytest.mark.django_db
def test_no_token_appears_in_the_dump_the_sync_log_the_logs_or_admin_pages(
    client, connection, mocked, api_base, token_url, caplog
):
    from django.contrib.auth import get_user_model

    new_access, new_refresh = "at-rotated-5555555555", "rt-rotated-6666666666"
    mocked.add(
        responses.POST,
        token_url,
        json={
            "access_token": new_access,
            "refresh_token": new_refresh,
            "expires_in": 86399,
            "userId": "u",
        },
    )
    mocked.add(responses.GET, f"{api_base}/x", json={"echo": new_access})
    mocked.add(responses.GET, f"{api_base}/fail", status=422, json={"message": f"bad {new_access}"})
    caplog.set_level(logging.DEBUG)
    connection_token_refresh(connection_id=connection.pk, force=True)
    ghl_request(connection_id=connection.pk, method="GET", path="/x")
    with pytest.raises(GhlInvalid) as caught:
        ghl_request(connection_id=connection.pk, method="GET", path="/fail")
    user = get_user_model().objects.create_superuser("root", "r@x.test", "pw")
    client.force_login(user)
    urls = [
        "/admin/integrations/connection/",
        f"/admin/integrations/connection/{connection.pk}/change/",
        f"/admin/integrations/highlevelapp/{connection.app_id}/change/",
        "/admin/integrations/synclog/",
    ] + [
        f"/admin/integrations/synclog/{pk}/change/"
        for pk in SyncLog.objects.values_list("pk", flat=True)
    ]
    pages = []
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        pages.append(page.content)
    assert any(b"bad ***" in p for p in pages)  # the failed call is shown, redacted
    dump = io.StringIO()
    call_command("dumpdata", "integrations", "portal", stdout=dump)
    haystacks = {
        "dump": dump.getvalue(),
        "sync log": "".join(str(v) for row in SyncLog.objects.values() for v in row.values()),
        "logs": caplog.text,
        "admin": b"".join(pages).decode(),
        "error": str(caught.value) + repr(caught.value.__dict__),
        "connection.last_error": Connection.objects.get().last_error,
    }
    for secret in (ACCESS, REFRESH, new_access, new_refresh, CLIENT_SECRET):
        for where, text in haystacks.items():
            assert secret not in text, f"{secret} found in {where}"
