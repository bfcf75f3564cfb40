"""Polling subscriptions: dispatch (the tick), runs (poll and backfill jobs), configuration."""

from integrations.sync.subscriptions.dispatch import subscription_claim, subscriptions_dispatch
from integrations.sync.subscriptions.manage import (
    subscription_check,
    subscription_run_now,
    subscription_save,
    subscriptions_pause,
)
from integrations.sync.subscriptions.run import subscription_run

__all__ = [
    "subscription_check",
    "subscription_claim",
    "subscription_run",
    "subscription_run_now",
    "subscription_save",
    "subscriptions_dispatch",
    "subscriptions_pause",
]
