"""Sign-in throttling that holds behind a proxy and across processes: failures are counted in the
shared cache (the database's table by default, Redis when configured), per client address and per
account *and* address, the address taken from a proxy header only when the settings name one."""

import secrets

import pytest
from django.core.cache import caches
from django.db import connection
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.security.envprobe import settings_of

TOO_MANY = "Too many failed login attempts"


def fresh_address() -> str:
    """A client address no earlier run counted (a Redis cache outlives the test's transaction)."""
    return f"2001:db8:{secrets.randbits(16):x}:{secrets.randbits(16):x}::1"


def attempt(client, username, password, **extra):
    response = client.post(
        reverse("account_login"), {"login": username, "password": password}, **extra
    )
    return response


@pytest.mark.slow  # child processes
def test_the_cache_is_shared_by_every_process(tmp_path):
    default = settings_of(["CACHES"], env_extra={}, tmp_path=tmp_path)["CACHES"]["default"]
    assert default["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    redis = settings_of(
        ["CACHES"], env_extra={"REDIS_URL": "redis://127.0.0.1:6379/10"}, tmp_path=tmp_path
    )["CACHES"]["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://127.0.0.1:6379/10"


@pytest.mark.django_db
def test_failed_sign_ins_are_counted_in_the_database_cache(client, role_users, settings):
    if settings.REDIS_URL:
        pytest.skip("the cache is Redis in this run")
    attempt(client, "staffer", "wrong-password-1")
    table = connection.ops.quote_name(caches["default"]._table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table}")
        keys = [row[0] for row in cursor.fetchall()]
    assert any("login_failed" in key for key in keys), keys


@pytest.mark.django_db
def test_failures_from_one_address_do_not_lock_the_account_for_another(client, role_users):
    attacker = {"REMOTE_ADDR": fresh_address()}
    for _ in range(5):
        assert TOO_MANY not in attempt(client, "staffer", "guess", **attacker).content.decode()
    assert TOO_MANY in attempt(client, "staffer", PASSWORD, **attacker).content.decode()

    real_user = attempt(client, "staffer", PASSWORD, REMOTE_ADDR=fresh_address())
    assert real_user.status_code == 302 and real_user.url == reverse("admin:index")


@pytest.mark.django_db
def test_one_address_is_limited_across_accounts(client, role_users):
    attacker = {"REMOTE_ADDR": fresh_address()}
    refused = [
        TOO_MANY in attempt(client, f"user{n}", "guess", **attacker).content.decode()
        for n in range(25)
    ]
    assert refused.index(True) == 20  # 20 a minute per address


@pytest.mark.django_db
def test_a_spoofed_forwarding_header_is_ignored_unless_a_proxy_is_configured(client, role_users):
    address = fresh_address()
    for n in range(25):
        last = attempt(
            client,
            f"user{n}",
            "guess",
            REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
            HTTP_X_REAL_IP=f"10.0.1.{n}",
        )
    assert TOO_MANY in last.content.decode()


@pytest.mark.django_db
def test_behind_a_proxy_the_client_address_comes_from_the_named_header(
    client, role_users, settings
):
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    proxy = {"REMOTE_ADDR": "10.9.9.9"}  # every request arrives from the proxy
    attacker, real_user = fresh_address(), fresh_address()
    for _ in range(5):
        attempt(client, "staffer", "guess", HTTP_X_REAL_IP=attacker, **proxy)
    blocked = attempt(client, "staffer", PASSWORD, HTTP_X_REAL_IP=attacker, **proxy)
    assert TOO_MANY in blocked.content.decode()
    other = attempt(client, "staffer", PASSWORD, HTTP_X_REAL_IP=real_user, **proxy)
    assert other.status_code == 302


@pytest.mark.slow  # child processes
def test_the_proxy_header_and_limits_are_settings(tmp_path):
    values = settings_of(
        ["ALLAUTH_TRUSTED_CLIENT_IP_HEADER", "ALLAUTH_TRUSTED_PROXY_COUNT", "ACCOUNT_RATE_LIMITS"],
        env_extra={
            "TRUSTED_CLIENT_IP_HEADER": "X-Real-IP",
            "TRUSTED_PROXY_COUNT": "1",
            "LOGIN_FAILED_PER_IP": "50/m",
        },
        tmp_path=tmp_path,
    )
    assert values["ALLAUTH_TRUSTED_CLIENT_IP_HEADER"] == "X-Real-IP"
    assert values["ALLAUTH_TRUSTED_PROXY_COUNT"] == 1
    assert values["ACCOUNT_RATE_LIMITS"]["login_failed"].startswith("50/m/ip,")
    unset = settings_of(["ALLAUTH_TRUSTED_CLIENT_IP_HEADER"], env_extra={}, tmp_path=tmp_path)
    assert unset["ALLAUTH_TRUSTED_CLIENT_IP_HEADER"] is None
