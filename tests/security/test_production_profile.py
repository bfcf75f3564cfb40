"""Production fails closed: DEBUG off means the hardened profile, whether or not PORTAL_ENV says so."""

import pytest
from django.core.checks.security.base import check_secret_key
from django.test import override_settings

from portal.checks import check_production_safety
from tests.security.envprobe import REAL_KEYS, run, settings_of

pytestmark = pytest.mark.slow  # each case starts `manage.py check` in a subprocess

PUBLIC = {"DEBUG": "false", "ALLOWED_HOSTS": "portal.example.com"}


def ids(errors):
    return {error.id for error in errors}


def test_debug_off_without_portal_env_is_the_hardened_profile(tmp_path):
    s = settings_of(
        [
            "PORTAL_ENV",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SANDBOX_ENABLED",
            "ENCRYPTION_KEYS",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "DEMO_ALLOWED",
        ],
        env_extra=PUBLIC,
        tmp_path=tmp_path,
    )
    assert s["PORTAL_ENV"] == "production"
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SANDBOX_ENABLED"] is False and s["DEMO_ALLOWED"] is False
    assert s["ENCRYPTION_KEYS"] == []  # never the development key
    assert s["SECURE_SSL_REDIRECT"] is True and s["SECURE_HSTS_SECONDS"] >= 31536000


def test_check_deploy_without_portal_env_names_both_development_keys(tmp_path):
    result = run(
        ["check", "--deploy", "--fail-level", "ERROR"], env_extra=PUBLIC, tmp_path=tmp_path
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "portal.E003" in out and "SECRET_KEY" in out
    assert "portal.E001" in out and "ENCRYPTION_KEYS" in out


def test_real_keys_pass_the_deploy_check_at_warning_level_without_portal_env(tmp_path):
    result = run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        env_extra={**PUBLIC, **REAL_KEYS},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "env_extra",
    [
        {**PUBLIC, **REAL_KEYS, "ALLOWED_HOSTS": "*"},
        {"PORTAL_ENV": "test", "DEBUG": "false", "ALLOWED_HOSTS": "*"},
    ],
)
def test_allowed_hosts_star_is_refused_outside_debug(tmp_path, env_extra):
    result = run(["check"], env_extra=env_extra, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "portal.E008" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["demo_seed"],
        ["highlevel_demo_app"],
        [
            "sandbox_demo_app",
            "--redirect-uri",
            "http://127.0.0.1:8000/integrations/oauth/callback/",
        ],
    ],
)
def test_demo_commands_refuse_to_run_with_debug_off(tmp_path, command):
    env = {**PUBLIC, **REAL_KEYS, "SANDBOX_ENABLED": "true", "SANDBOX_IN_PRODUCTION_OK": "true"}
    result = run(command, env_extra=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "need" in result.stderr and "DEBUG on" in result.stderr


def test_the_development_secret_key_is_flagged_by_djangos_own_deploy_check(settings):
    with override_settings(SECRET_KEY=settings.DEV_SECRET_KEY):
        assert [w.id for w in check_secret_key(None)] == ["security.W009"]


@pytest.mark.parametrize(
    "overrides",
    [
        # DEBUG off but PORTAL_ENV left at development (e.g. changed at run time).
        {"DEBUG": False, "PORTAL_ENV": "development", "ALLOWED_HOSTS": ["localhost"]},
        # DEBUG on, but a public host allowed: keys, sandbox and cookies are checked too.
        {"DEBUG": True, "PORTAL_ENV": "development", "ALLOWED_HOSTS": ["portal.example.com"]},
        # A "test" environment that answers on a public host.
        {"DEBUG": False, "PORTAL_ENV": "test", "ALLOWED_HOSTS": ["portal.example.com"]},
    ],
)
def test_key_sandbox_and_cookie_checks_run_whenever_the_portal_may_face_the_public(
    settings, overrides
):
    dev = {
        "SECRET_KEY": settings.DEV_SECRET_KEY,
        "ENCRYPTION_KEYS": [settings.DEV_ENCRYPTION_KEY],
        "SANDBOX_ENABLED": True,
        "SANDBOX_IN_PRODUCTION_OK": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }
    with override_settings(**dev, **overrides):
        assert {"portal.E001", "portal.E003", "portal.E006", "portal.E007"} <= ids(
            check_production_safety(None)
        )


def test_a_local_development_setup_passes_the_checks(settings):
    with override_settings(
        DEBUG=True,
        PORTAL_ENV="development",
        ALLOWED_HOSTS=["localhost", "127.0.0.1"],
        SECRET_KEY=settings.DEV_SECRET_KEY,
        ENCRYPTION_KEYS=[settings.DEV_ENCRYPTION_KEY],
        SANDBOX_ENABLED=True,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
    ):
        assert check_production_safety(None) == []
