"""Sandbox-signed webhooks are trusted only for sandbox-mode connections; with the sandbox off its
admin pages are not registered."""

import base64
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.webhooks import WebhookKeys
from integrations.models import HighLevelApp, WebhookEvent
from integrations.sync.webhooks_in import SANDBOX_KEYS_CACHE
from tests.security.envprobe import ROOT

URL = reverse("integrations:highlevel_webhook")


@pytest.fixture
def sandbox_key(settings):
    """HighLevel's live key unset; the sandbox (enabled) signs with this one."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.SANDBOX_ENABLED = True
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ""
    cache.set(SANDBOX_KEYS_CACHE, WebhookKeys(ed25519=(pem,), rsa=("",)), 600)
    yield key
    cache.delete(SANDBOX_KEYS_CACHE)


def deliver(client, key, webhook_id):
    raw = json.dumps(
        {
            "type": "ContactCreate",
            "locationId": "loc-1",
            "id": "c-1",
            "webhookId": webhook_id,
            "timestamp": timezone.now().isoformat(),
        }
    ).encode()
    return client.post(
        URL,
        raw,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=base64.b64encode(key.sign(raw)).decode(),
    )


@pytest.mark.django_db
def test_a_sandbox_signed_webhook_is_refused_for_a_live_connection(client, sandbox_key, connection):
    HighLevelApp.objects.filter(pk=connection.app_id).update(mode=HighLevelApp.Mode.LIVE)
    response = deliver(client, sandbox_key, "wh-live")
    assert response.status_code == 401 and b"sandbox-mode connection" in response.content
    assert not WebhookEvent.objects.exclude(status="rejected").exists()


@pytest.mark.django_db
def test_a_sandbox_signed_webhook_is_accepted_for_a_sandbox_connection(
    client, sandbox_key, connection
):
    assert connection.app.mode == HighLevelApp.Mode.SANDBOX
    assert deliver(client, sandbox_key, "wh-sbx").status_code == 200


def test_the_sandbox_admin_is_not_registered_when_the_sandbox_is_off(tmp_path):
    code = (
        "import django; django.setup(); from django.contrib import admin; "
        "print(sorted({m._meta.app_label for m in admin.site._registry}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_ENV": "test",
        "SQLITE_PATH": str(tmp_path / "x.sqlite3"),
    }
    shown = {}
    for enabled in ("true", "false"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**env, "SANDBOX_ENABLED": enabled},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        shown[enabled] = out.stdout.strip().splitlines()[-1]
    assert "'sandbox'" in shown["true"] and "'sandbox_access'" in shown["true"]
    assert "'sandbox'" not in shown["false"] and "'sandbox_access'" not in shown["false"]
