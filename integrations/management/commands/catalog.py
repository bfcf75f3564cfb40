"""`manage.py catalog [--json] [--category C] [--kind K]`: the named catalog, or everything as JSON."""

import json
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from integrations.catalog.export import catalog_export
from integrations.catalog.named import KINDS
from integrations.catalog.spec_files import SpecError


class Command(BaseCommand):
    help = "Print HighLevel's operations (registry) and the product's named catalog."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="Registry and named catalog as JSON."
        )
        parser.add_argument("--category", help="Only named operations of this category.")
        parser.add_argument("--kind", choices=KINDS, help="Only triggers or only actions.")

    def handle(self, *args, **options):
        try:
            data = catalog_export()
        except SpecError as exc:
            raise CommandError(str(exc)) from None
        named = [
            n
            for n in data["named"]
            if options["category"] in (None, n["category"]) and options["kind"] in (None, n["kind"])
        ]
        if options["category"] and not named:
            raise CommandError(f"No named operations in category {options['category']!r}.")
        if options["json"]:
            data["named"] = named
            self.stdout.write(json.dumps(data, indent=1))
            return
        for n in named:
            self.stdout.write(
                f"{n['category']:26} {n['kind']:15} {n['name']:32} {n['method']:6} {n['path']}"
                f"  [{', '.join(n['scopes']) or 'no scope'}] paging={n['paging']['style']}"
            )
        kinds = Counter(n["kind"] for n in named)
        self.stdout.write(
            f"{len(data['operations'])} operations in the specs; {len(named)} named "
            f"({kinds['polling_trigger']} polling triggers, {kinds['action']} actions) in "
            f"{len({n['category'] for n in named})} categories."
        )
