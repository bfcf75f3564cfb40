"""A bench's own PostgreSQL database: with ``DATABASE_URL=postgres://.../NAME`` a bench works in
``NAME<suffix>`` on the same server (created and dropped through the server's ``postgres``
database), never in the database the URL names; unset, it works on SQLite."""

import os
from urllib.parse import urlsplit, urlunsplit


class BenchDatabase:
    def __init__(self, suffix: str) -> None:
        self.server_url = os.environ.get("DATABASE_URL", "")
        self.name = ""
        if self.server_url.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(self.server_url)
            self.name = (parts.path.lstrip("/") or "portal") + suffix
            os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + self.name))
        elif self.server_url:
            raise SystemExit("DATABASE_URL must be a postgres:// URL (or unset for SQLite).")

    def admin(self, sql: str) -> None:
        """Run ``sql`` on the server's ``postgres`` database (CREATE and DROP DATABASE)."""
        import psycopg

        parts = urlsplit(self.server_url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(sql)
