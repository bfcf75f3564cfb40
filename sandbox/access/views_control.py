"""`/sandbox/control/faults` (set, read, clear fault rules), the lifecycle controls
(`control/uninstall`, `control/plan`, `control/locations`), the signing-key rotation
(`control/webhook-keys`) and `/sandbox/webhook-keys`."""

import hmac
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sandbox.access.gate import error_json
from sandbox.access.models import FaultRule, WebhookKey
from sandbox.access.services.faults import (
    fault_rule_describe,
    fault_rule_set,
    fault_rules_clear,
    fault_values_parse,
)
from sandbox.access.services.lifecycle import (
    LifecycleRefused,
    app_plan_change,
    app_uninstall,
    location_create,
)
from sandbox.access.services.oauth import tokens_expire
from sandbox.access.services.signing import (
    KeyRotationRefused,
    webhook_key_announce,
    webhook_key_promote,
    webhook_keys_retire,
    webhook_public_keys,
)


def _control_refusal(request) -> JsonResponse | None:
    expected = settings.SANDBOX_CONTROL_TOKEN
    if not expected:
        if settings.DEBUG or settings.PORTAL_ENV == "test":
            return None
        return error_json(
            status=403, message="Set SANDBOX_CONTROL_TOKEN to use the control endpoint"
        )
    given = request.headers.get("X-Sandbox-Control-Token", "")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = given or value.strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return error_json(status=401, message="Missing or wrong control token")
    return None


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request):
    refusal = _control_refusal(request)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        return JsonResponse(
            {"rules": [fault_rule_describe(rule=r) for r in FaultRule.objects.all()]}
        )
    if request.method == "DELETE":
        location_id = request.GET.get("locationId")
        return JsonResponse({"deleted": fault_rules_clear(location_id=location_id)})
    try:
        data = json.loads(request.body or b"{}")
        location_id, values, storm_seconds, expire = fault_values_parse(data=data)
        answer = {}
        if values or storm_seconds is not None or not expire:
            rule = fault_rule_set(
                location_id=location_id, values=values, storm_seconds=storm_seconds
            )
            answer["rule"] = fault_rule_describe(rule=rule)
    except json.JSONDecodeError as exc:
        return error_json(status=400, message=f"The body is not JSON: {exc}")
    except ValidationError as exc:
        return error_json(status=422, message=exc.messages)
    if expire:
        answer["expiredTokens"] = tokens_expire(location_id=location_id)
    return JsonResponse(answer)


def _control_post(request, action):
    refusal = _control_refusal(request)
    if refusal is not None:
        return refusal
    try:
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("a JSON object")
        return JsonResponse(action(data), status=201)
    except (json.JSONDecodeError, ValueError) as exc:
        return error_json(status=400, message=f"The body is not a JSON object: {exc}")
    except KeyError as exc:
        return error_json(status=422, message=[f"{exc.args[0]} should not be empty"])
    except LifecycleRefused as exc:
        return error_json(status=404, message=str(exc))
    except KeyRotationRefused as exc:
        return error_json(status=409, message=str(exc))


@csrf_exempt
@require_http_methods(["POST"])
def uninstall(request):
    """`{"clientId": ..., "locationId": ...}` or `{"clientId": ..., "companyId": ...}`: UNINSTALL."""
    return _control_post(
        request,
        lambda d: {
            "removed": app_uninstall(
                client_id=_need(d, "clientId"),
                company_id=d.get("companyId", ""),
                location_id=d.get("locationId", ""),
            )
        },
    )


@csrf_exempt
@require_http_methods(["POST"])
def plan(request):
    """`{"clientId", "planId", "locationId" or "companyId"}`: PLAN_CHANGE."""

    def change(d):
        install = app_plan_change(
            client_id=_need(d, "clientId"),
            plan_id=_need(d, "planId"),
            company_id=d.get("companyId", ""),
            location_id=d.get("locationId", ""),
        )
        return {"planId": install.plan_id}

    return _control_post(request, change)


@csrf_exempt
@require_http_methods(["POST"])
def locations(request):
    """`{"companyId", "name", optional "locationId", "address", "email"}`: LocationCreate."""

    def create(d):
        location = location_create(
            company_id=_need(d, "companyId"),
            name=_need(d, "name"),
            location_id=d.get("locationId", ""),
            address=d.get("address", ""),
            email=d.get("email", ""),
        )
        return {"locationId": location.location_id, "companyId": location.company.company_id}

    return _control_post(request, create)


ROTATION_STEPS = {
    "announce": webhook_key_announce,
    "promote": webhook_key_promote,
    "retire": webhook_keys_retire,
}


@csrf_exempt
@require_http_methods(["POST"])
def key_rotation(request):
    """`{"step": "announce" | "promote" | "retire", optional "kind": "rsa" | "ed25519"}`: one
    step of a signing-key rotation (both kinds unless one is named); answers the published keys."""

    def rotate(d):
        step = _need(d, "step")
        if step not in ROTATION_STEPS:
            raise ValueError(f"step must be one of {', '.join(ROTATION_STEPS)}")
        kind = d.get("kind")
        ROTATION_STEPS[step](kind=kind if isinstance(kind, str) and kind else None)
        return webhook_public_keys()

    return _control_post(request, rotate)


def _need(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise KeyError(name)
    return value


@require_GET
def webhook_keys(request):
    return JsonResponse(webhook_public_keys())


@require_GET
def webhook_key_pem(request, kind):
    if kind not in dict(WebhookKey.KINDS):
        return error_json(status=404, message=f"No key {kind!r}; try ed25519 or rsa")
    return HttpResponse(webhook_public_keys()[kind], content_type="application/x-pem-file")
