"""How fast a page of HighLevel contacts goes through a mapping into Rankr records.

Runs on a throw-away SQLite database (or DATABASE_URL if set), with the contact template:
  map_per_s        mapping_apply alone (pure Python, no database)
  upsert_per_s     mapping_page_apply on new records, pages of 100 (map, fingerprint, upsert)
  unchanged_per_s  the same pages again: every record skipped by fingerprint
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.TemporaryDirectory()
os.environ.setdefault("SQLITE_PATH", str(Path(TMP.name) / "bench.sqlite3"))
os.environ.setdefault("DEBUG", "false")  # no query log growing in memory
os.environ.setdefault("PORTAL_ENV", "test")  # DEBUG off outside a test run is production
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

N = int(os.environ.get("BENCH_RECORDS", "20000"))
PAGE = 100


def contact(n):
    return {
        "id": f"c{n:07d}",
        "email": f" Person{n}@Example.com ",
        "firstName": f"First{n}",
        "lastName": "Last",
        "phone": f"(415) 555-{n % 10000:04d}",
        "companyName": "Acme ",
        "tags": ["lead", f"t{n % 7}"],
        "source": "web",
        "customFields": [{"id": "cf1", "value": str(n)}],
    }


def main():
    if "DATABASE_URL" in os.environ:
        raise SystemExit("Run on the throw-away SQLite database: unset DATABASE_URL.")
    call_command("migrate", verbosity=0)
    from mappings.services import (
        mapping_apply,
        mapping_page_apply,
        mapping_template_apply,
        mapping_version_latest,
    )
    from portal.models import Agency, Location
    from rankr.models import Contact

    agency = Agency.objects.create(name="Bench", company_id="bench")
    location = Location.objects.create(agency=agency, location_id="bench-loc", name="Bench")
    mapping, _ = mapping_template_apply(
        template_key="ghl_contact_upsert", location_id=location.pk, user_id=None
    )
    version = mapping_version_latest(mapping_id=mapping.pk)
    records = [contact(n) for n in range(N)]

    start = time.perf_counter()
    for record in records:
        mapping_apply(mapping_version=version, record=record)
    map_s = time.perf_counter() - start

    def pages():
        for i in range(0, N, PAGE):
            yield records[i : i + PAGE]

    start = time.perf_counter()
    failed = 0
    for page in pages():
        failed += len(
            mapping_page_apply(
                mapping_version=version, location_id=location.pk, records=page
            ).failed
        )
    upsert_s = time.perf_counter() - start

    start = time.perf_counter()
    unchanged = 0
    for page in pages():
        unchanged += mapping_page_apply(
            mapping_version=version, location_id=location.pk, records=page
        ).counts.unchanged
    skip_s = time.perf_counter() - start

    assert Contact.objects.count() == N - failed, "every mapped record is stored once"
    print(f"records: {N}")
    print(f"failed: {failed}")
    print(f"unchanged_skipped: {unchanged}")
    print(f"map_per_s: {N / map_s:.0f}")
    print(f"upsert_per_s: {N / upsert_s:.0f}")
    print(f"unchanged_per_s: {N / skip_s:.0f}")


if __name__ == "__main__":
    main()
