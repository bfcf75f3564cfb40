"""Start-up checks: the spec copy loads and the named catalog points at real operations."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, register

from integrations.catalog.named import named_all
from integrations.catalog.registry import registry
from integrations.catalog.spec_files import SpecError, spec_dir


@register("catalog")
def check_catalog(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    try:
        operations = registry()
    except SpecError as exc:
        return [
            Error(
                f"The HighLevel operation catalog cannot load: {exc}",
                hint=f"Restore the spec copy in {spec_dir()} (or fix GHL_SPEC_DIR) from "
                "HighLevel's docs; the files must not be edited.",
                id="catalog.E001",
            )
        ]
    return [
        Error(
            f"Named operation {named.name!r} points at {named.key}, which the specs do not define.",
            hint="Fix its row in integrations/catalog/named.py.",
            id="catalog.E002",
        )
        for named in named_all()
        if named.key not in operations
    ]
