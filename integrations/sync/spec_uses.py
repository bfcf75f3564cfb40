"""What in the portal uses each HighLevel operation: for judging a spec upgrade (``spec_diff``).

Three sources, as an upgrade can break each: the catalog's named triggers and actions, the flow
templates and the locations' mappings built from them, and the polling subscriptions.
"""

from collections import Counter, defaultdict

from integrations.catalog.named import TRIGGER, named_all
from integrations.sync.models import Subscription
from mappings.entities import FLOW_TEMPLATES
from mappings.models import Mapping


def spec_uses() -> dict[str, list[str]]:
    """``{"METHOD /path": ["named trigger 'Contact changed'", "flow template ...", ...]}``."""
    uses: dict[str, list[str]] = defaultdict(list)
    for named in named_all():
        kind = "trigger" if named.kind == TRIGGER else "action"
        uses[named.key].append(f"named {kind} {named.name!r}")
    for key, template in FLOW_TEMPLATES.items():
        uses[template.operation_key].append(f"flow {key}")
    mappings = Counter(Mapping.objects.values_list("operation_key", flat=True))
    for operation, count in sorted(mappings.items()):
        uses[operation].append(f"{count} location mapping(s)")
    subscriptions = Counter(Subscription.objects.values_list("operation", flat=True))
    for operation, count in sorted(subscriptions.items()):
        uses[operation].append(f"{count} subscription(s)")
    return dict(uses)
