"""`manage.py sandbox_seed --locations N --contacts M`: fill the sandbox with realistic data."""

import time

from django.core.management.base import BaseCommand, CommandError

from sandbox.access.services import registry
from sandbox.state.seed import sandbox_seed


class Command(BaseCommand):
    help = "Seed the HighLevel sandbox: locations with contacts, tasks, notes, appointments, users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--locations", type=int, default=1, help="How many locations (default 1)."
        )
        parser.add_argument("--contacts", type=int, default=100, help="Contacts per location.")
        parser.add_argument("--users", type=int, default=3, help="Users per location.")
        parser.add_argument("--company", default="seed-company-0001", help="Company (agency) id.")
        parser.add_argument("--prefix", default="seed-loc-", help="Location id prefix.")
        for name, what in (
            ("tasks", "Tasks per location (exact; default: about one per five contacts)."),
            ("notes", "Notes per location (exact; default: about one per five contacts)."),
            ("appointments", "Appointments per location (exact; default: one per 20 contacts)."),
        ):
            parser.add_argument(f"--{name}", type=int, default=None, help=what)
        parser.add_argument("--calendars", type=int, default=1, help="Calendars per location.")
        parser.add_argument(
            "--opportunities", type=int, default=0, help="Opportunities per location."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Seed the demo agency's three locations (demo-loc-0001..0003).",
        )

    def handle(self, *args, **opts):
        if opts["locations"] < 1 or opts["contacts"] < 0:
            raise CommandError("--locations must be at least 1 and --contacts at least 0.")
        if opts["demo"]:
            company_id = "demo-company-0001"
            location_ids = ["demo-loc-0001", "demo-loc-0002", "demo-loc-0003"]
            registry.sandbox_demo_company_ensure()
        else:
            company_id = opts["company"]
            location_ids = [f"{opts['prefix']}{n:04d}" for n in range(1, opts["locations"] + 1)]
            # The OAuth side must know the locations to install apps on them.
            registry.sandbox_company_ensure(
                company_id=company_id,
                name=f"Seed agency {company_id}",
                locations=[
                    {"location_id": loc, "name": f"Seed location {loc}"} for loc in location_ids
                ],
            )
        started = time.monotonic()
        report = sandbox_seed(
            company_id=company_id,
            location_ids=location_ids,
            contacts=opts["contacts"],
            users=opts["users"],
            seed=opts["seed"],
            tasks=opts["tasks"],
            notes=opts["notes"],
            appointments=opts["appointments"],
            calendars=opts["calendars"],
            opportunities=opts["opportunities"],
        )
        elapsed = time.monotonic() - started
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.counts.items()))
        self.stdout.write(
            f"Seeded {', '.join(location_ids)} of {company_id} in {elapsed:.1f}s: {counts}"
        )
