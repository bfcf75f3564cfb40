"""Fault injection: which faults hit this request, drawn reproducibly from the rule's seed."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from sandbox.access.models import FaultRule
from sandbox.queries import rows_of

# Control-endpoint JSON name -> model field. One table, read by the view and the GET answer.
FAULT_FIELDS = {
    "seed": "seed",
    "enabled": "enabled",
    "stormRate": "storm_rate",
    "retryAfter": "retry_after",
    "errorRate": "error_rate",
    "errorStatus": "error_status",
    "latencyMs": "latency_ms",
    "dropRate": "drop_rate",
    "htmlRate": "html_rate",
    "refuseRefresh": "refuse_refresh",
}


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request. ``n`` is its position in the rule's sequence (1-based)."""

    n: int
    latency_ms: int = 0
    storm: bool = False
    retry_after: int = 0
    error_status: int = 0
    html: bool = False
    drop: bool = False


def fault_rule_for(*, location_id: str) -> FaultRule | None:
    """The enabled rule for ``location_id``, else the enabled global rule, else None."""
    keys = [location_id, ""] if location_id else [""]
    enabled = dict(  # asked on every request, and almost always none: a compiled query
        rows_of(
            "faults.enabled",
            lambda *keys: FaultRule.objects.filter(location_id__in=keys, enabled=True).values_list(
                "location_id", "pk"
            ),
            keys,
        )
    )
    pk = enabled.get(location_id) or enabled.get("")
    return FaultRule.objects.filter(pk=pk).first() if pk else None


def fault_plan_draw(*, rule: FaultRule) -> FaultPlan:
    """Take the next number of ``rule``'s sequence and decide this request's faults from it.

    Each knob has its own draw in a fixed order, so changing one rate never reshuffles which
    requests another knob hits.
    """
    table = connection.ops.quote_name(FaultRule._meta.db_table)
    with connection.cursor() as cursor:  # one atomic statement: each request gets its own n
        cursor.execute(
            f"UPDATE {table} SET request_count = request_count + 1 WHERE id = %s RETURNING request_count",  # noqa: S608 (quoted table name; values are parameters)
            [rule.pk],
        )
        row = cursor.fetchone()
    n = row[0] if row else 1  # the rule was deleted meanwhile
    rng = random.Random(f"{rule.seed}:{n}")
    storm_draw, error_draw, html_draw, drop_draw = (rng.random() for _ in range(4))
    storming = rule.storm_until is None or timezone.now() < rule.storm_until
    return FaultPlan(
        n=n,
        latency_ms=rule.latency_ms,
        storm=storming and storm_draw < rule.storm_rate,
        retry_after=rule.retry_after,
        error_status=rule.error_status if error_draw < rule.error_rate else 0,
        html=html_draw < rule.html_rate,
        drop=drop_draw < rule.drop_rate,
    )


@transaction.atomic
def fault_rule_set(
    *, location_id: str = "", values: dict, storm_seconds: float | None = None
) -> FaultRule:
    """Replace the rule for ``location_id`` (blank = global) with ``values`` (model field names).

    Fields not given take their defaults, and the sequence restarts at 1, so setting the same
    rule twice faults the same requests. Raises ValidationError on out-of-range values.
    """
    rule = FaultRule(location_id=location_id, **values)
    if storm_seconds is not None:
        rule.storm_until = timezone.now() + timedelta(seconds=storm_seconds)
    rule.full_clean(validate_unique=False)
    FaultRule.objects.filter(location_id=location_id).delete()
    rule.save()
    return rule


def fault_rules_clear(*, location_id: str | None = None) -> int:
    """Delete the rule for one location ("" = the global one), or every rule when None."""
    rules = FaultRule.objects.all()
    if location_id is not None:
        rules = rules.filter(location_id=location_id)
    return rules.delete()[0]


def fault_rule_describe(*, rule: FaultRule) -> dict:
    answer = {"locationId": rule.location_id or None}
    answer.update({name: getattr(rule, field) for name, field in FAULT_FIELDS.items()})
    answer["stormUntil"] = rule.storm_until.isoformat() if rule.storm_until else None
    answer["requestCount"] = rule.request_count
    return answer


def fault_values_parse(*, data: dict) -> tuple[str, dict, float | None, bool]:
    """Control-endpoint JSON -> (location_id, model values, storm seconds, expire tokens now).

    Raises ValidationError naming every unknown key or wrong type.
    """
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    known = set(FAULT_FIELDS) | {"locationId", "stormSeconds", "expireTokensNow"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(
            f"Unknown keys: {', '.join(unknown)}. Known keys: {', '.join(sorted(known))}."
        )
    location_id = data.get("locationId") or ""
    if not isinstance(location_id, str):
        raise ValidationError("locationId must be a string or null.")
    values = {}
    for name, field in FAULT_FIELDS.items():
        if name not in data:
            continue
        value = data[name]
        expected = bool if field in ("enabled", "refuse_refresh") else (int, float)
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            raise ValidationError(
                f"{name} must be a {'boolean' if expected is bool else 'number'}."
            )
        values[field] = value
    storm_seconds = data.get("stormSeconds")
    if storm_seconds is not None and (
        isinstance(storm_seconds, bool)
        or not isinstance(storm_seconds, (int, float))
        or storm_seconds <= 0
    ):
        raise ValidationError("stormSeconds must be a positive number.")
    expire = data.get("expireTokensNow", False)
    if not isinstance(expire, bool):
        raise ValidationError("expireTokensNow must be a boolean.")
    return location_id, values, storm_seconds, expire
