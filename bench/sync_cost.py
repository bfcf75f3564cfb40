"""CPU per synced record: the portal against a bare HTTP client fetching the same pages.

One run, one seeded sandbox location (``--contacts`` contacts, the limits off; the sandbox is its
own gunicorn process and is not counted) and three clients of ``POST /contacts/search``, 100 a page:
  raw       a bare ``requests`` loop: send, parse the JSON, follow ``searchAfter``
  door      the same pages through the portal's door (``operation_pages``: checks, auth, rate
            limit, retries, one sync-log row per attempt)
  backfill  the portal's full backfill job: fetch through the door, map, fingerprint, upsert,
            checkpoint
and the door again with 5-record pages (the shape of fan-out and incremental calls).
Then the write floor: the rows the backfill keeps for each record (the Rankr record, its last
payload, its history row) deleted and written again by the bare database driver, 100 records a
transaction, with no read, lock, conflict handling or Python of the portal's: what any client
keeping the same rows pays at least (``executemany``; on PostgreSQL also ``COPY``, the cheapest
way in).
CPU is this process's ``time.process_time()`` plus, on PostgreSQL, the CPU of the database
backends serving this process's connections (utime + stime of ``/proc/<backend pid>/stat``), so
work moved into the database still counts.
  raw_cpu_ms_per_1k, door_cpu_ms_per_1k, backfill_cpu_ms_per_1k   CPU ms per 1,000 records
  door_vs_raw, backfill_vs_raw                                    ratios to the bare client
  door_cpu_ms_per_request                                         CPU ms per 5-record page
  write_floor_cpu_ms_per_1k, write_floor_vs_raw   (copy_floor_… on PostgreSQL) the write floor
Run: .venv/bin/python bench/sync_cost.py [--contacts 20000] [--postgres URL] [--profile FILE]
(``--profile FILE`` writes cProfile stats of the small pages and of the backfill to
FILE.door, FILE.backfill and their top lines to FILE.door.txt, FILE.backfill.txt.)
"""

import argparse
import os
import time

from sync_world import BenchEnvironment, Sandbox, run_inline, world_make

PAGE = 100
SMALL_PAGE = 5
SMALL_REQUESTS = 400
_TICK = os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends this process opened (none on SQLite).

    A connection the job closes takes its backend (and its /proc entry) with it: a sampler thread
    reads every known backend every 20 ms and a closed one keeps its last reading, so at most
    20 ms of a closing backend's CPU goes uncounted.
    """

    def __init__(self):
        import threading

        from django.db.backends.signals import connection_created

        self.last = {}  # backend pid -> its CPU seconds when last read
        self.lock = threading.Lock()
        connection_created.connect(self._created, weak=False)
        from django.db import connection

        if connection.connection is not None:
            self._created(connection=connection)
        self.stopped = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _created(self, *, connection, **_):
        if connection.vendor == "postgresql":
            pid = connection.connection.info.backend_pid
            with self.lock:
                self.last.setdefault(pid, 0.0)
            self._read(pid)

    def _read(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # closed: its last reading stands
            return
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)
        with self.lock:
            self.last[pid] = max(self.last.get(pid, 0.0), cpu)

    def _sample(self):
        while not self.stopped.wait(0.02):
            for pid in list(self.last):
                self._read(pid)

    def seconds(self):
        for pid in list(self.last):
            self._read(pid)
        with self.lock:
            return sum(self.last.values())


class Meter:
    def __init__(self, backends):
        self.backends = backends

    def __enter__(self):
        self.db = self.backends.seconds()
        self.cpu = time.process_time() + self.db
        self.wall = time.monotonic()
        return self

    def __exit__(self, *exc):
        db = self.backends.seconds()
        self.cpu = time.process_time() + db - self.cpu
        self.db = db - self.db
        self.wall = time.monotonic() - self.wall


def raw_fetch(*, base_url, token, location_id, limit):
    """The bare client: one keep-alive session paging the search as the door does."""
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    body = {"locationId": location_id, "pageLimit": limit}
    fetched = 0
    while True:
        answer = session.post(f"{base_url}/contacts/search", json=body, headers=headers, timeout=60)
        answer.raise_for_status()
        contacts = answer.json()["contacts"]
        fetched += len(contacts)
        if len(contacts) < limit or not contacts[-1].get("searchAfter"):
            return fetched
        body = {**body, "searchAfter": contacts[-1]["searchAfter"]}


def door_fetch(*, subscription, limit, max_pages=None):
    from integrations.catalog.services import operation_pages

    fetched = pages = 0
    for response in operation_pages(
        connection_id=subscription.connection_id,
        operation_id="POST /contacts/search",
        body={"locationId": subscription.location.location_id},
        limit=limit,
        max_pages=max_pages,
    ):
        fetched += len(response.data["contacts"])
        pages += 1
    return fetched, pages


def write_floor(*, backends, records):
    """Meters of writing the rows the backfill kept again with the bare driver: ``executemany``
    and, on PostgreSQL, ``COPY`` (each from the same emptied tables). Table and column names come
    from model metadata."""
    from django.db import connection

    from mappings.models import SourcePayload
    from rankr.models import Contact, RecordChange

    models = (Contact, SourcePayload, RecordChange)
    kept = {}
    with connection.cursor() as cursor:
        for model in models:
            columns = [f.column for f in model._meta.concrete_fields]
            cursor.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table} ORDER BY 1")
            kept[model] = (columns, cursor.fetchall())
    if {len(rows) for _, rows in kept.values()} != {records}:
        counts = {model.__name__: len(rows) for model, (_, rows) in kept.items()}
        raise SystemExit(f"write floor: expected {records} rows each, found {counts}")
    driver = connection.connection
    mark = "?" if connection.vendor == "sqlite" else "%s"

    def emptied():
        with connection.cursor() as cursor:
            for model in reversed(models):
                cursor.execute(f"DELETE FROM {model._meta.db_table}")

    def by_executemany():
        for start in range(0, records, PAGE):
            cursor = driver.cursor()
            if connection.vendor == "sqlite":
                cursor.execute("BEGIN")
            for model in models:
                columns, rows = kept[model]
                cursor.executemany(
                    f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join([mark] * len(columns))})",
                    rows[start : start + PAGE],
                )
            driver.commit()

    def by_copy():
        import json

        for start in range(0, records, PAGE):
            cursor = driver.cursor()
            for model in models:
                columns, rows = kept[model]
                table = f"{model._meta.db_table} ({', '.join(columns)})"
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in rows[start : start + PAGE]:
                        copy.write_row(
                            [json.dumps(v) if isinstance(v, (dict, list)) else v for v in row]
                        )
            driver.commit()

    meters = {}
    for name, write in (("write", by_executemany), ("copy", by_copy)):
        if name == "copy" and connection.vendor != "postgresql":
            continue
        emptied()
        with Meter(backends) as meters[name]:
            write()
    return meters


def profiled(path, fn, *, timer=None):
    """``fn()``, profiled into ``path`` when given (``timer``: cProfile's clock, e.g.
    ``time.process_time``, CPU, by default, as the figures are)."""
    if not path:
        return fn()
    import cProfile
    import pstats

    profile = cProfile.Profile(timer or time.process_time)
    result = profile.runcall(fn)
    profile.dump_stats(path)
    with open(path + ".txt", "w") as out:
        stats = pstats.Stats(profile, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(40)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--postgres", help="A PostgreSQL server URL; a scratch database is made.")
    parser.add_argument("--profile", help="cProfile the small pages and the backfill.")
    args = parser.parse_args()
    env = BenchEnvironment(limits_off=True, postgres=args.postgres)
    sandbox = Sandbox(port=env.port)
    try:
        [subscription] = world_make(locations=1, contacts=args.contacts)
        from integrations.models import Connection
        from rankr.models import Contact

        connection = Connection.objects.select_related("app").get(pk=subscription.connection_id)
        backends = BackendCpu()
        location_id = subscription.location.location_id
        raw_fetch(  # warm both sides (the sandbox's caches, this process's imports)
            base_url=connection.app.api_base_url,
            token=connection.access_token,
            location_id=location_id,
            limit=PAGE,
        )
        door_fetch(subscription=subscription, limit=SMALL_PAGE, max_pages=20)

        with Meter(backends) as raw:
            raw_n = raw_fetch(
                base_url=connection.app.api_base_url,
                token=connection.access_token,
                location_id=location_id,
                limit=PAGE,
            )
        with Meter(backends) as door:
            door_n, door_pages = door_fetch(subscription=subscription, limit=PAGE)
        with Meter(backends) as small:
            _, small_pages = profiled(
                args.profile and args.profile + ".door",
                lambda: door_fetch(
                    subscription=subscription, limit=SMALL_PAGE, max_pages=SMALL_REQUESTS
                ),
            )
        with Meter(backends) as backfill:
            profiled(args.profile and args.profile + ".backfill", lambda: run_inline(subscription))
        stored = Contact.objects.filter(location_id=subscription.location_id).count()
        expected = {args.contacts}
        if {raw_n, door_n, stored, subscription.backfill_records} != expected:
            raise SystemExit(
                f"expected {args.contacts}: raw {raw_n}, door {door_n}, stored {stored}, "
                f"backfill counted {subscription.backfill_records}"
            )
        floors = write_floor(backends=backends, records=args.contacts)
    finally:
        sandbox.stop()
        env.close()

    def per_1k(meter):
        return meter.cpu * 1000 / (args.contacts / 1000)

    print(f"database: {'postgresql' if args.postgres else 'sqlite'}")
    print(f"contacts: {args.contacts}")
    print(f"pages: {door_pages}")
    print(f"raw_wall_s: {raw.wall:.1f}")
    print(f"door_wall_s: {door.wall:.1f}")
    print(f"backfill_wall_s: {backfill.wall:.1f}")
    print(f"raw_cpu_ms_per_1k: {per_1k(raw):.0f}")
    print(f"door_cpu_ms_per_1k: {per_1k(door):.0f}")
    print(f"backfill_cpu_ms_per_1k: {per_1k(backfill):.0f}")
    if args.postgres:  # the database's share of the figures above
        print(f"door_db_cpu_ms_per_1k: {door.db * 1000 / (args.contacts / 1000):.0f}")
        print(f"backfill_db_cpu_ms_per_1k: {backfill.db * 1000 / (args.contacts / 1000):.0f}")
    print(f"door_vs_raw: {door.cpu / raw.cpu:.2f}")
    print(f"backfill_vs_raw: {backfill.cpu / raw.cpu:.2f}")
    for name, meter in floors.items():
        print(f"{name}_floor_cpu_ms_per_1k: {per_1k(meter):.0f}")
        print(f"{name}_floor_vs_raw: {meter.cpu / raw.cpu:.2f}")
    print(f"door_cpu_ms_per_request: {small.cpu * 1000 / small_pages:.2f}")


if __name__ == "__main__":
    main()
