"""Settings for the Rankr ⇄ HighLevel portal.

Everything configurable is read here, once, through one ``environ.Env()`` reader; `.env.example`
lists every variable with its default. With no environment at all the portal runs on SQLite and
the django-q2 ORM broker.
"""

import os
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; missing file is fine

PORTAL_ENVIRONMENTS = ("development", "test", "production")

# A fixed key so a fresh checkout works out of the box. The system check portal.E003 refuses it
# in production, and its `django-insecure-` prefix makes Django's own deploy check (security.W009)
# flag it too; it is never used to derive anything else.
DEV_SECRET_KEY = "django-insecure-dev-only-0000000000000000000000000000000000000000"  # noqa: S105 (refused outside DEBUG: portal.E003)
# Development-only Fernet key for secrets at rest; portal.E001 refuses it in production.
DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS1kby1ub3QtdXNlISE="


def _strict_bool(name, default):
    """Parse a boolean variable, refusing anything that is not clearly yes or no."""
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def _int(name, default, *, minimum=None):
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def _float(name, default, *, minimum=0.0):
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def _str(name, default):
    """A string variable; set-but-empty (as in a copied .env.example) means the default."""
    return env.str(name, default="") or default


def _list(name, default):
    raw = env.str(name, default="")
    return [item.strip() for item in raw.split(",") if item.strip()] if raw else default


def _url(name, schemes):
    raw = env.str(name, default="")
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; "
            f"got scheme {parsed.scheme!r}."
        )
    return raw


PORTAL_ENV = _str("PORTAL_ENV", "development")
if PORTAL_ENV not in PORTAL_ENVIRONMENTS:
    raise ImproperlyConfigured(
        f"PORTAL_ENV={PORTAL_ENV!r} is not one of {', '.join(PORTAL_ENVIRONMENTS)}."
    )
DEBUG = _strict_bool("DEBUG", default=PORTAL_ENV != "production")
# Fail closed: with DEBUG off the portal is in production (hardened profile: secure cookies, HTTPS,
# no sandbox, no development keys) unless PORTAL_ENV=test says it is a test run. Forgetting
# PORTAL_ENV=production can no longer leave a public portal on the development defaults.
if not DEBUG and PORTAL_ENV == "development":
    PORTAL_ENV = "production"
PRODUCTION = PORTAL_ENV == "production"
# The demo commands (fixed logins, the demo app's published secret) run only with DEBUG on. Read
# once here: pytest-django turns settings.DEBUG off while tests run.
DEMO_ALLOWED = DEBUG and not PRODUCTION
# The agency is the tenant: only superusers see across agencies, unless this turns on the
# "Platform operator" role (users in it then see every agency's locations, read-only).
PLATFORM_OPERATORS_ENABLED = _strict_bool("PLATFORM_OPERATORS_ENABLED", default=False)
SECRET_KEY = _str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = _list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", [])

# Fernet keys for secrets at rest, newest first (MultiFernet). Never derived from SECRET_KEY.
ENCRYPTION_KEYS = _list("ENCRYPTION_KEYS", [] if PRODUCTION else [DEV_ENCRYPTION_KEY])

INSTALLED_APPS = [
    "portal.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_q",
    "portal",
    "integrations",
    "mappings",
    "rankr",
    "sandbox",
    "sandbox.access",
]

MIDDLEWARE = [
    "portal.middleware.HeadWithoutBodyMiddleware",
    "portal.middleware.LogContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "portal.middleware.MFARequiredMiddleware",
    "portal.middleware.UserTimezoneMiddleware",
    "portal.admin_links.AdminRequestMiddleware",
    "integrations.interfaces.middleware.HighLevelDeadlineMiddleware",
]
FORMAT_MODULE_PATH = ["portal.formats"]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = _url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
SQLITE_PATH = BASE_DIR / _str("SQLITE_PATH", "var/db.sqlite3")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # Web server and worker share one file: WAL lets readers run beside a writer,
                # IMMEDIATE takes the write lock up front so two writers queue instead of failing
                # with "database is locked" half-way through a transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": _int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
            },
        }
    }
    # Tests that start a worker or a live server share the database across processes, so the
    # SQLite test database is a file rather than pytest-django's in-memory default.
    DATABASES["default"]["TEST"] = {"NAME": str(SQLITE_PATH.with_name("test.sqlite3"))}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Seconds a database connection is kept between requests (0: one per request). Benchmarks run
# the sandbox with it raised: opening a connection per request was a tenth of its CPU.
DATABASES["default"].setdefault("CONN_MAX_AGE", _int("DB_CONN_MAX_AGE", 0, minimum=0))
# A kept connection is checked before its reuse (a database restarted meanwhile costs no request
# or job an error). The Procfile's worker keeps its connection (a new one per job was a tenth of
# a poll's CPU).
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 default, opted into now

# --- Work queue (django-q2) -------------------------------------------------------------------
REDIS_URL = _url("REDIS_URL", ("redis", "rediss", "unix"))
Q_TIMEOUT = _int("Q_TIMEOUT", 600, minimum=1)
Q_CLUSTER = {
    "name": _str("Q_CLUSTER_NAME", "portal"),
    "workers": _int("Q_WORKERS", 2, minimum=1),
    # A task runs at most `timeout` seconds; an unacknowledged one is redelivered after `retry`,
    # which must be longer, or a slow task would run twice at once.
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    # Redelivery is a safety net for a dead worker, not our retry policy (HighLevel backoff lives
    # in integrations.ghl): a task that keeps killing its worker stops after this many tries.
    "max_attempts": _int("Q_MAX_ATTEMPTS", 3, minimum=1),
    # Failed tasks are acknowledged and recorded as failures; our job records decide re-runs.
    "ack_failures": True,
    "save_limit": _int("Q_SAVE_LIMIT", 1000, minimum=0),
    "catch_up": False,
    "label": "Task queue",
    # Tasks run in the worker; a test that wants them inline asks for the `q_sync` fixture.
    "sync": False,
    "poll": 1,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:  # pragma: no cover - guarded by construction
    raise ImproperlyConfigured("Q_CLUSTER timeout must be lower than retry.")

# Our own retry policy for jobs (HighLevel's transient errors): at most this many attempts per job,
# whatever a kind of job asks for. 1 means no automatic retry: failures wait for a person.
JOB_MAX_ATTEMPTS = _int("JOB_MAX_ATTEMPTS", 5, minimum=1)
# The first retry comes after JOB_RETRY_BASE_S/2 to JOB_RETRY_BASE_S seconds (full jitter), each
# next one waits up to twice as long, capped at an hour; HighLevel's Retry-After, when it gives
# one, wins.
JOB_RETRY_BASE_S = _int("JOB_RETRY_BASE_S", 30, minimum=1)
# Liveness, not timeouts: a running job's worker renews its lease every JOB_HEARTBEAT_S seconds;
# a job whose lease (JOB_LEASE_S, on the database's clock) passed is taken up again by the next
# tick, whatever Q_TIMEOUT is. The heartbeat must fit at least twice in the lease.
JOB_LEASE_S = _int("JOB_LEASE_S", 30, minimum=2)
JOB_HEARTBEAT_S = _int("JOB_HEARTBEAT_S", 10, minimum=1)
if JOB_HEARTBEAT_S * 2 > JOB_LEASE_S:
    raise ImproperlyConfigured("JOB_HEARTBEAT_S must be at most half of JOB_LEASE_S.")
# A queued job the broker never took (it was down, or lost it) is sent again after this long.
JOB_RESEND_AFTER_S = _int("JOB_RESEND_AFTER_S", 300, minimum=1)
# A host whose clock is wrong, on purpose (tests and bench/fault_matrix.py; refused in production):
# this process's timezone.now() reads that many seconds off (portal.clock). Claims, leases, due
# times and heartbeats are on the database's clock, so hosts still agree on who runs what.
PORTAL_CLOCK_OFFSET_S = _float("PORTAL_CLOCK_OFFSET_S", 0.0, minimum=-86400.0)
if PORTAL_CLOCK_OFFSET_S:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "PORTAL_CLOCK_OFFSET_S is for tests and benches, not production."
        )
    from portal.clock import clock_offset_install

    clock_offset_install(seconds=PORTAL_CLOCK_OFFSET_S)

# --- Cache: shared by every process (sign-in throttling, webhook counters) --------------------------
# Redis when REDIS_URL is set, otherwise a table of the database (`migrate` creates it; so does
# `manage.py createcachetable`). Never a per-process memory cache: a limit counted per process is
# multiplied by the number of processes. Entries are not culled early (an attacker filling the
# cache must not wipe the counters).
CACHE_TABLE = "portal_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": _int("CACHE_MAX_ENTRIES", 1_000_000, minimum=1000)},
        }
    }

# --- Authentication (django-allauth with MFA) -------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "admin:index"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "portal.adapters.StaffOnlyAccountAdapter"
# Failed sign-ins, counted in the shared cache (CACHES below) so every web process sees them:
# per client address (LOGIN_FAILED_PER_IP) and per account *and* address (LOGIN_FAILED_PER_ACCOUNT;
# portal.adapters keys it so), never per account alone: someone guessing a password from one
# address cannot lock the real user, signing in from another, out of their account.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{_str('LOGIN_FAILED_PER_IP', '20/m')}/ip,"
    f"{_str('LOGIN_FAILED_PER_ACCOUNT', '5/5m')}/key",
}
# The client's address: REMOTE_ADDR, unless the portal runs behind a proxy that is named here.
# TRUSTED_CLIENT_IP_HEADER: a header the proxy sets to the client's address (e.g. X-Real-IP);
# TRUSTED_PROXY_COUNT: how many proxies append to X-Forwarded-For (the address they saw is
# taken, counted from the right). Neither is read unless set: a client cannot pick its address.
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = _str("TRUSTED_CLIENT_IP_HEADER", "") or None
ALLAUTH_TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# A password reset for an address no account has sends nothing (allauth would mail it otherwise).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Rankr HighLevel portal"
# Single sign-on: each agency's OpenID Connect provider (portal.models.AgencySingleSignOn). No
# sign-up through it, no provider tokens kept, users matched by the provider's verified e-mail.
SOCIALACCOUNT_ADAPTER = "portal.adapters.PortalSocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = _int("SOCIALACCOUNT_REQUESTS_TIMEOUT", 10, minimum=1)
MFA_ADAPTER = "portal.adapters.PortalMFAAdapter"  # TOTP secrets encrypted at rest
# Recovery codes stay viewable (allauth's default) so a user can print them again after enrolment.
# Every user (staff, auditor, support, superuser) must enrol TOTP at their first sign-in and give
# a code at every sign-in after it. On by default outside DEBUG; the demo (DEBUG) leaves it off so
# its printed logins work at once (`PORTAL_REQUIRE_MFA=true make demo` to try it).
PORTAL_REQUIRE_MFA = _strict_bool("PORTAL_REQUIRE_MFA", default=not DEBUG)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if PORTAL_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    INSTALLED_APPS.append("tests.entityapp")  # models tests add (the throwaway entity's)

EMAIL_BACKEND = _str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = _str("DEFAULT_FROM_EMAIL", "portal@localhost")

# --- Alerts (needs re-auth, dead jobs): email to assigned staff and Support, optional webhook ----
# The portal's address as people reach it, for the links in alerts.
PORTAL_BASE_URL = (_url("PORTAL_BASE_URL", ("http", "https")) or "http://127.0.0.1:8000").rstrip(
    "/"
)
# A signed JSON POST per incident (Slack, a pager): empty = no webhook.
ALERT_WEBHOOK_URL = _url("ALERT_WEBHOOK_URL", ("http", "https")) or ""
ALERT_WEBHOOK_SECRET = _str("ALERT_WEBHOOK_SECRET", "")
# Signals of one agency and cause are gathered this long into one incident before it is sent.
ALERT_GROUP_SECONDS = _int("ALERT_GROUP_SECONDS", 60, minimum=0)

# --- The verifier: a daily random sample per location and entity, re-read and compared ----------
# Records per location and entity (Rankr's sample; HighLevel's own page is as large).
VERIFY_SAMPLE_SIZE = _int("VERIFY_SAMPLE_SIZE", 50, minimum=1)
# The share of a location's daily HighLevel budget (200,000 requests) the verifier may spend.
VERIFY_BUDGET_SHARE = _float("VERIFY_BUDGET_SHARE", 0.02)
# The day's verifications start evenly over this many seconds (the first at once), not all at
# once: thousands queued together delayed the scheduled polls behind them by minutes.
VERIFY_SPREAD_S = _int("VERIFY_SPREAD_S", 6 * 3600, minimum=0)
# Alerts: a location's verified mismatch rate (0 to 1) or coverage age (hours) past these.
VERIFY_ALERT_MISMATCH_RATE = _float("VERIFY_ALERT_MISMATCH_RATE", 0.05)
VERIFY_ALERT_COVERAGE_HOURS = _float("VERIFY_ALERT_COVERAGE_HOURS", 48.0)

# --- Internationalisation, static files ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = _str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / _str("STATIC_ROOT", "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from here after collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- HighLevel --------------------------------------------------------------------------------
# HighLevel's three host roles (docs/oauth/Authorization.md): the API and token endpoint, the
# consent page, and the white-label consent page. Live apps use these; sandbox apps use the
# sandbox's copies of the same roles under SANDBOX_BASE_URL (/services, /marketplace,
# /marketplace-whitelabel), so both go through one code path.
GHL_API_HOST = _url("GHL_API_HOST", ("http", "https")) or "https://services.leadconnectorhq.com"
GHL_MARKETPLACE_HOST = (
    _url("GHL_MARKETPLACE_HOST", ("http", "https")) or "https://marketplace.gohighlevel.com"
)
GHL_WHITELABEL_MARKETPLACE_HOST = (
    _url("GHL_WHITELABEL_MARKETPLACE_HOST", ("http", "https"))
    or "https://marketplace.leadconnectorhq.com"
)
# Webhook deliveries: the largest body accepted (bytes; larger is 413, unread), how many rejected
# (unsigned, forged, stale) deliveries a minute are stored as samples (the rest only counted),
# and how many days stored webhook events are kept (pruned by the scheduler tick; 0 = forever).
WEBHOOK_MAX_BODY_BYTES = _int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
WEBHOOK_REJECTED_SAMPLES = _int("WEBHOOK_REJECTED_SAMPLES", 5, minimum=0)
WEBHOOK_EVENT_RETENTION_DAYS = _int("WEBHOOK_EVENT_RETENTION_DAYS", 30, minimum=0)

# Personal data: a Rankr record deleted in HighLevel keeps its personal data this many days (so a
# deletion undone in HighLevel comes back whole), then the scheduler tick empties its personal
# fields and leaves a tombstone (integrations.sync.erasure; 0 = never).
ERASE_DELETED_RECORDS_AFTER_DAYS = _int("ERASE_DELETED_RECORDS_AFTER_DAYS", 30, minimum=0)
# Retention, in days (0 = keep forever), enforced by the scheduler tick at most hourly
# (integrations.sync.retention.retention_run_due): sync log entries, finished jobs, job attempts
# and audit events older than these go. Queued and running jobs (and their attempts) and webhook
# events still waiting to be processed are never pruned. On PostgreSQL a whole expired day of the
# sync log, job attempts and webhook events is one dropped partition.
SYNC_LOG_RETENTION_DAYS = _int("SYNC_LOG_RETENTION_DAYS", 14, minimum=0)
JOB_RETENTION_DAYS = _int("JOB_RETENTION_DAYS", 30, minimum=0)
JOB_ATTEMPT_RETENTION_DAYS = _int("JOB_ATTEMPT_RETENTION_DAYS", 30, minimum=0)
AUDIT_EVENT_RETENTION_DAYS = _int("AUDIT_EVENT_RETENTION_DAYS", 400, minimum=0)
# Batches (of 5,000 rows) one retention run deletes per table before handing over to the next
# tick, so a first run on a big table never holds the tick for long.
RETENTION_MAX_BATCHES = _int("RETENTION_MAX_BATCHES", 20, minimum=1)

# Public keys (PEM) that verify HighLevel's webhooks: x-ghl-signature (Ed25519) and the legacy
# x-wh-signature (RSA), each a current key and the announced next one (rotation). Empty RSA
# means the key published in docs/oauth/WebhookAuthentication.md (read from the project's copy).
GHL_WEBHOOK_ED25519_PUBLIC_KEY = _str("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "").replace("\\n", "\n")
GHL_WEBHOOK_ED25519_PUBLIC_KEY_NEXT = _str("GHL_WEBHOOK_ED25519_PUBLIC_KEY_NEXT", "").replace(
    "\\n", "\n"
)
GHL_WEBHOOK_RSA_PUBLIC_KEY = _str("GHL_WEBHOOK_RSA_PUBLIC_KEY", "").replace("\\n", "\n")
GHL_WEBHOOK_RSA_PUBLIC_KEY_NEXT = _str("GHL_WEBHOOK_RSA_PUBLIC_KEY_NEXT", "").replace("\\n", "\n")

# --- The sandbox (HighLevel emulator) ---------------------------------------------------------
SANDBOX_ENABLED = _strict_bool("SANDBOX_ENABLED", default=not PRODUCTION)
SANDBOX_IN_PRODUCTION_OK = _strict_bool("SANDBOX_IN_PRODUCTION_OK", default=False)
if SANDBOX_ENABLED:
    # The sandbox serves its consent page and token endpoint over plain HTTP on this machine;
    # oauthlib refuses that unless told. Without the sandbox (production) HTTPS stays required.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# Where the portal reaches the sandbox over HTTP (a separate process in the demo).
SANDBOX_BASE_URL = _url("SANDBOX_BASE_URL", ("http", "https")) or "http://127.0.0.1:8001/sandbox"
# sandbox.access: token lifetime, HighLevel's documented rate limits, the fault control token.
SANDBOX_ACCESS_TOKEN_TTL = _int("SANDBOX_ACCESS_TOKEN_TTL", 86400, minimum=1)
SANDBOX_RATE_BURST = _int("SANDBOX_RATE_BURST", 100, minimum=1)
SANDBOX_RATE_INTERVAL_MS = _int("SANDBOX_RATE_INTERVAL_MS", 10000, minimum=1)
SANDBOX_RATE_DAILY = _int("SANDBOX_RATE_DAILY", 200000, minimum=1)
# strict: answer exactly as HighLevel's docs say; lenient: also take what HighLevel's newer
# clients send (Version: v3, camelCase token fields). See sandbox/mode.py.
SANDBOX_MODE = _str("SANDBOX_MODE", "strict")
if SANDBOX_MODE not in ("strict", "lenient"):
    raise ImproperlyConfigured(f"SANDBOX_MODE must be strict or lenient, got {SANDBOX_MODE!r}.")
# Protects /sandbox/control/faults; when empty, only DEBUG or test settings allow the endpoint.
SANDBOX_CONTROL_TOKEN = env.str("SANDBOX_CONTROL_TOKEN", default="")

# --- HighLevel connections (integrations.ghl) ---------------------------------------------------
# Refresh an OAuth token this many seconds before it expires.
GHL_TOKEN_REFRESH_MARGIN = _int("GHL_TOKEN_REFRESH_MARGIN", 300, minimum=0)
# Called (connection=, reason=) when the door marks a connection "needs re-auth": the sync fails
# that connection's queued jobs. A path, so the door (a lower layer) never imports the sync.
GHL_NEEDS_REAUTH_HANDLER = "integrations.sync.connections.connection_needs_reauth"
# The share of HighLevel's successful answers validated against the spec's response schema; the
# deviations found are recorded per operation (admin: Spec deviations) by this handler.
# (Off by default under tests, which turn it on where they check it: no random side effects.)
SPEC_CHECK_SAMPLE_RATE = _float("SPEC_CHECK_SAMPLE_RATE", 0.0 if PORTAL_ENV == "test" else 0.02)
SPEC_DEVIATION_HANDLER = "integrations.sync.spec_checks.spec_deviations_record"
GHL_CONNECT_TIMEOUT = _int("GHL_CONNECT_TIMEOUT", 5, minimum=1)
GHL_READ_TIMEOUT = _int("GHL_READ_TIMEOUT", 30, minimum=1)
# All HighLevel calls of one web request (test connection, preview, Run) together: seconds.
GHL_WEB_DEADLINE_S = _float("GHL_WEB_DEADLINE_S", 15.0)
# Bounded work per request: how deep a big list pages, how many rows one CSV export streams.
ADMIN_MAX_PAGE = _int("ADMIN_MAX_PAGE", 1000, minimum=1)
EXPORT_MAX_ROWS = _int("EXPORT_MAX_ROWS", 200000, minimum=1)
# Attempts per request for transient failures (429, 5xx, timeouts, resets, HTML pages).
GHL_MAX_ATTEMPTS = _int("GHL_MAX_ATTEMPTS", 5, minimum=1)
# Full-jitter backoff: sleep uniform(0, min(cap, base * 2**(attempt-1))) seconds.
GHL_BACKOFF_BASE = _float("GHL_BACKOFF_BASE", 0.5)
GHL_BACKOFF_CAP = _float("GHL_BACKOFF_CAP", 30.0)
# A Retry-After longer than this (seconds) ends the call so the job can be rescheduled.
GHL_MAX_RETRY_AFTER = _float("GHL_MAX_RETRY_AFTER", 60.0)
# HighLevel's budget per app per location/company: burst per interval, and per day.
GHL_RATE_LIMIT_BURST = _int("GHL_RATE_LIMIT_BURST", 100, minimum=1)
GHL_RATE_LIMIT_INTERVAL_MS = _int("GHL_RATE_LIMIT_INTERVAL_MS", 10000, minimum=1)
GHL_RATE_LIMIT_DAILY = _int("GHL_RATE_LIMIT_DAILY", 200000, minimum=1)
# The share of the burst window and of the day that bulk work (backfills, reconciliation walks,
# the verifier) leaves to incremental polls and resyncs.
GHL_RATE_LIMIT_RESERVE = _float("GHL_RATE_LIMIT_RESERVE", 0.2)
# The share of a location's (or company's) daily budget its subscriptions may be planned to spend:
# a set estimated above it is refused when saved or resumed, and paused when the location grows.
BUDGET_MAX_SHARE = _float("BUDGET_MAX_SHARE", 0.5)
# Added to the interval so clock skew and network delay never push a burst over the limit.
GHL_RATE_LIMIT_SAFETY_MS = _int("GHL_RATE_LIMIT_SAFETY_MS", 250, minimum=0)
# Longest a request waits for budget before failing with a retryable GhlRateLimited.
GHL_RATE_LIMIT_MAX_WAIT = _float("GHL_RATE_LIMIT_MAX_WAIT", 120.0)
# Characters kept of each redacted request/response summary in the sync log.
GHL_SYNC_LOG_SUMMARY_CHARS = _int("GHL_SYNC_LOG_SUMMARY_CHARS", 2000, minimum=100)
# The share of successful HighLevel calls whose (redacted) bodies the sync log keeps; failures
# always keep theirs. 0 keeps none, 1 every one. Metadata and sizes are kept for every call.
SYNC_LOG_BODY_SAMPLE = _float("SYNC_LOG_BODY_SAMPLE", 0.01)
if SYNC_LOG_BODY_SAMPLE > 1:
    raise ImproperlyConfigured(f"SYNC_LOG_BODY_SAMPLE={SYNC_LOG_BODY_SAMPLE} must be at most 1.")

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _strict_bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
    # A load balancer's or orchestrator's probe may ask over plain HTTP; /healthz holds no secret.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = PRODUCTION
    CSRF_COOKIE_SECURE = PRODUCTION
    SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
    # Preloading is a commitment browsers keep for months: only when asked (Django's deploy check
    # security.W021 would nag about it otherwise, so it is silenced unless preload is on).
    SECURE_HSTS_PRELOAD = _strict_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Sign-in lasts 12 hours by default (seconds), however active the session.
SESSION_COOKIE_AGE = _int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
# Sent on every response; "off" turns it off. The portal's pages use no inline scripts.
CONTENT_SECURITY_POLICY = _str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
if CONTENT_SECURITY_POLICY.strip().lower() == "off":
    CONTENT_SECURITY_POLICY = ""

# The DEBUG error page and error e-mails hide tokens and the credentials in DATABASE_URL/REDIS_URL.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.error_reports.PortalExceptionReporterFilter"

# --- Operating: health, heartbeats, metrics, logs -----------------------------------------------
# Worker processes (qcluster) and dispatcher loops write a heartbeat row every HEARTBEAT_S seconds
# (a dispatcher once per round); a process silent for HEARTBEAT_STALE_S is stale, one silent for
# HEARTBEAT_FORGET_S is forgotten. /healthz answers 503 when the database is unreachable or a
# component named in HEALTHZ_REQUIRED (worker, dispatcher; empty: none) has no live process.
HEARTBEAT_S = _int("HEARTBEAT_S", 10, minimum=1)
HEARTBEAT_STALE_S = _int("HEARTBEAT_STALE_S", 60, minimum=2)
HEARTBEAT_FORGET_S = _int("HEARTBEAT_FORGET_S", 3600, minimum=60)
if HEARTBEAT_S * 2 > HEARTBEAT_STALE_S:
    raise ImproperlyConfigured("HEARTBEAT_S must be at most half of HEARTBEAT_STALE_S.")
if HEARTBEAT_FORGET_S <= HEARTBEAT_STALE_S:
    raise ImproperlyConfigured("HEARTBEAT_FORGET_S must be longer than HEARTBEAT_STALE_S.")
HEALTHZ_REQUIRED = _list("HEALTHZ_REQUIRED", ["worker"])
if set(HEALTHZ_REQUIRED) - {"worker", "dispatcher"}:
    raise ImproperlyConfigured(
        f"HEALTHZ_REQUIRED={','.join(HEALTHZ_REQUIRED)!r}: name worker and/or dispatcher."
    )
# /metrics (Prometheus): a scraper sends `Authorization: Bearer <METRICS_TOKEN>`; a signed-in user
# with integrations.view_metrics (superusers) may read it too. Off in production unless a token
# is set (portal.E009 refuses METRICS_ENABLED=true without one); job outcomes and webhook lag
# are counted over the last METRICS_WINDOW_S seconds.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ENABLED = _strict_bool("METRICS_ENABLED", default=bool(METRICS_TOKEN) or not PRODUCTION)
METRICS_WINDOW_S = _int("METRICS_WINDOW_S", 3600, minimum=60)

# plain: one line of text per record; json: one JSON object per line with the job, attempt,
# location and HighLevel trace id of the work it is about (portal.logs), secrets masked.
LOG_FORMAT = _str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOG_LEVEL = _str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "portal.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "portal.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context"],
        }
    },
    "filters": {
        "forbidden_one_line": {"()": "portal.refusals.ForbiddenOneLine"},
        "log_context": {"()": "portal.logs.LogContextFilter"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # A refused request is one line with its reason, not a stack trace.
        "django.request": {"filters": ["forbidden_one_line"]},
        # requests-oauthlib and oauthlib log request bodies (tokens) at DEBUG: never let them.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
