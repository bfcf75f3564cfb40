# The subscriptions' fixtures: the metrics tests run a real sync first.
from tests.integrations.subscriptions.conftest import contact_mapping, make_subscription

__all__ = ["contact_mapping", "make_subscription"]
