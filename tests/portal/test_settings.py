"""Settings are read from the environment: defaults, URLs, and clear errors for bad values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts manage.py in a subprocess

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "options": {k: str(v) for k, v in db.get("OPTIONS", {}).items()},
    "q": {k: v for k, v in settings.Q_CLUSTER.items() if k in
          ("orm", "redis", "timeout", "retry", "max_attempts", "ack_failures", "sync", "workers")},
    "debug": settings.DEBUG, "sandbox": settings.SANDBOX_ENABLED,
    "ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
}))
"""
PRODUCTION_ENV = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "p" * 30 + "-real-production-secret-key-for-tests-0123",
    "ALLOWED_HOSTS": "portal.example.com",
    "ENCRYPTION_KEYS": "q7o2Gx1N2dCoQ8qU6Lq9a5i1x0Gm8zqf9k0R0yY6Zl8=",
}


def run_python(code, env_extra, *args):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    env.pop("PORTAL_ENV", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SQLITE_PATH": "/tmp/portal-settings-probe.sqlite3",
        }
    )
    env.update(env_extra)
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def probe(**env_extra):
    result = run_python(PROBE, env_extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_need_no_configuration():
    s = probe()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in s["options"]["init_command"]
    assert s["options"]["transaction_mode"] == "IMMEDIATE"
    assert int(s["options"]["timeout"]) >= 5
    assert s["q"]["orm"] == "default" and "redis" not in s["q"]
    assert s["q"]["timeout"] < s["q"]["retry"]
    assert s["q"]["max_attempts"] >= 1 and s["q"]["ack_failures"] is True
    assert s["q"]["sync"] is False
    assert s["debug"] is True and s["sandbox"] is True


def test_database_url_switches_to_postgresql():
    s = probe(DATABASE_URL="postgres://bob:pw@db.internal:5432/portal")
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["name"] == "portal" and s["host"] == "db.internal"


def test_redis_url_switches_the_broker():
    s = probe(REDIS_URL="redis://127.0.0.1:6379/3")
    assert s["q"]["redis"] == "redis://127.0.0.1:6379/3" and "orm" not in s["q"]


def test_production_turns_on_transport_security():
    s = probe(**PRODUCTION_ENV)
    assert s["debug"] is False and s["sandbox"] is False
    assert s["ssl_redirect"] is True and s["hsts"] >= 31536000


CLOCK_PROBE = """
import json, time, django
django.setup()
from django.utils import timezone
from django.contrib.auth.models import User
print(json.dumps({"now": timezone.now().timestamp(), "real": time.time(),
                  "joined": User(username="x").date_joined.timestamp()}))
"""


def test_a_clock_offset_sets_this_process_s_host_clock_off_model_defaults_included():
    """PORTAL_CLOCK_OFFSET_S: the fault matrix's host whose clock is 20 s off."""
    result = run_python(CLOCK_PROBE, {"PORTAL_ENV": "test", "PORTAL_CLOCK_OFFSET_S": "-20"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(seen["now"] - seen["real"] + 20) < 2
    assert abs(seen["joined"] - seen["real"] + 20) < 2  # default=timezone.now, bound at import
    result = run_python(CLOCK_PROBE, {"PORTAL_ENV": "test"})
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(seen["now"] - seen["real"]) < 2


@pytest.mark.parametrize(
    "env_extra, message",
    [
        (
            {**PRODUCTION_ENV, "PORTAL_CLOCK_OFFSET_S": "20"},
            "PORTAL_CLOCK_OFFSET_S is for tests and benches, not production",
        ),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV='staging' is not one of"),
        (
            {"DATABASE_URL": "mysql2://x@y/z"},
            "DATABASE_URL must be a URL starting with postgres://",
        ),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL must be a URL starting with redis://"),
        ({"Q_WORKERS": "two"}, "Q_WORKERS='two' is not a whole number"),
        ({"Q_WORKERS": "0"}, "Q_WORKERS=0 must be at least 1"),
    ],
)
def test_bad_values_give_a_clear_error(env_extra, message):
    result = run_python(PROBE, env_extra)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_check_deploy_passes_with_a_production_environment():
    result = run_python(None, PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "env_extra, check_id",
    [
        ({"ENCRYPTION_KEYS": ""}, "portal.E001"),
        ({"SECRET_KEY": ""}, "portal.E003"),
        ({"DEBUG": "true"}, "portal.E002"),
        ({"ENCRYPTION_KEYS": "not-a-key"}, "portal.E004"),
        ({"SANDBOX_ENABLED": "true"}, "portal.E006"),
    ],
)
def test_system_checks_refuse_dangerous_setups(env_extra, check_id):
    result = run_python(None, {**PRODUCTION_ENV, **env_extra}, "check")
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


def test_development_defaults_pass_the_checks():
    result = run_python(None, {}, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_copied_env_example_means_the_defaults(tmp_path):
    """Variables set but empty (as in .env.example) fall back to their defaults."""
    example = (ROOT / ".env.example").read_text()
    empty = {}
    for line in example.splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            empty[name] = value
    assert probe(**empty)["engine"] == "django.db.backends.sqlite3"
    assert probe(**dict.fromkeys(empty, ""))["q"]["orm"] == "default"
