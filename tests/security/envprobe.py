"""Run the portal in a child process under a given environment (settings are read at start)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_KEYS = {
    "SECRET_KEY": "Zq8-real-production-secret-key-for-tests-0123456789-abcdefgHIJK",
    "ENCRYPTION_KEYS": "q7o2Gx1N2dCoQ8qU6Lq9a5i1x0Gm8zqf9k0R0yY6Zl8=",
}
SETTINGS_PROBE = """
import json, django
from django.conf import settings
django.setup()
names = json.loads({names!r})
print(json.dumps({{name: getattr(settings, name, None) for name in names}}, default=str))
"""


def run(args, *, env_extra, tmp_path, code=None):
    """``manage.py ARGS`` (or ``python -c CODE``) with PORTAL_ENV, DEBUG and the URLs unset first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("PORTAL_ENV", "DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "SQLITE_PATH": str(tmp_path / "probe.sqlite3"),
        }
    )
    env.update(env_extra)
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def settings_of(names, *, env_extra, tmp_path):
    result = run(
        [],
        env_extra=env_extra,
        tmp_path=tmp_path,
        code=SETTINGS_PROBE.format(names=json.dumps(names)),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
