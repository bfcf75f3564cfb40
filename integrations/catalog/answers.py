"""Live answers checked against the spec: a sample of HighLevel's answers is validated against
the operation's response schema, so a change on HighLevel's side shows up as data.

:func:`answer_sample_check` is called by the catalog's door (``services.call_send``) for each
successful answer; a share ``SPEC_CHECK_SAMPLE_RATE`` of them is validated, and deviations go to
the handler named by ``SPEC_DEVIATION_HANDLER`` (the sync records them per operation). Deviations
name the place (array positions folded: ``contacts[].email``) and the rule broken, never the
value (answers hold personal data).
"""

import json
import logging
import random
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from openapi_schema_validator import OAS30Validator

from integrations.catalog.registry import operation_get

logger = logging.getLogger(__name__)

MAX_DEVIATIONS = 10  # per answer


@lru_cache(maxsize=256)
def _validator(operation_key: str) -> OAS30Validator | None:
    operation = operation_get(operation_key)
    if not operation.response_schema or operation.unresolved_refs:
        return None
    return OAS30Validator(operation.response_schema)


def _where(path: list[Any]) -> str:
    where = ""
    for part in path:
        where += "[]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def answer_deviations(*, operation_key: str, data: Any) -> list[tuple[str, str]]:
    """``[(place, rule broken)]`` of ``data`` against the operation's 200 schema (deduplicated)."""
    validator = _validator(operation_key)
    if validator is None:
        return []
    found: dict[tuple[str, str], None] = {}
    for error in validator.iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required":
            message = error.message.split(" is a required")[0].strip("'\"") + " is required"
            message = f"{message} but missing"
        else:
            rule = json.dumps(error.validator_value, default=str)[:200]
            message = f"{error.validator} {rule} not met"
        found[(_where(path)[:300], message[:500])] = None
        if len(found) >= MAX_DEVIATIONS:
            break
    return list(found)


def answer_sample_check(*, operation_key: str, response: Any) -> int:
    """Validate the door's answer (``status``, ``data``) when it falls in the sample; hand
    deviations on. Returns how many.

    Never raises: the check is evidence, not a gate on the sync.
    """
    rate = float(settings.SPEC_CHECK_SAMPLE_RATE)
    if rate <= 0 or random.random() >= rate:
        return 0
    try:
        deviations = answer_deviations(operation_key=operation_key, data=response.data)
        if deviations:
            import_string(settings.SPEC_DEVIATION_HANDLER)(
                operation_key=operation_key, status=response.status, deviations=deviations
            )
    except Exception:
        logger.exception("spec check of %s failed", operation_key)
        return 0
    return len(deviations)
