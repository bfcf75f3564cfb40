"""``/healthz`` (no sign-in) and ``/metrics`` (Prometheus; bearer token or permission).

``/healthz`` answers JSON: 200 when the database answers and every component named in
``HEALTHZ_REQUIRED`` (default: the worker) has a live process, 503 otherwise; the components not
required are reported but never fail it. It names no host, process or setting.

``/metrics`` answers Prometheus' text format to ``Authorization: Bearer <METRICS_TOKEN>``
(compared in constant time) or to a signed-in user holding ``integrations.view_metrics``
(superusers); anyone else gets 401 (no credentials) or 403 (wrong ones). 404 while disabled.
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from integrations.sync.heartbeats import heartbeats_status
from integrations.sync.metrics import metrics_registry

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    body = {"status": "ok", "database": "ok", "components": {}}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        components = heartbeats_status()
    except DatabaseError as exc:
        logger.warning("healthz: database unreachable (%s)", type(exc).__name__)
        body.update(status="fail", database="unreachable")
        return JsonResponse(body, status=503)
    for item in components:
        body["components"][item.component] = {
            "status": item.status,
            "required": item.required,
            "age_s": None if item.age_s is None else round(item.age_s, 1),
            "live_processes": item.live_processes,
            "stale_processes": item.stale_processes,
        }
        if item.required and not item.healthy:
            body["status"] = "fail"
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _token_matches(given: str) -> bool:
    expected = settings.METRICS_TOKEN
    # compare_digest takes as long whatever the first differing byte; an unset token never matches.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_ENABLED:
        raise Http404("Metrics are not enabled.")
    given = _bearer(request)
    if given is not None:
        if not _token_matches(given):
            return HttpResponse("Wrong metrics token.\n", status=403, content_type="text/plain")
    elif not request.user.is_authenticated:
        response = HttpResponse(
            "Metrics need a bearer token (METRICS_TOKEN) or a signed-in user allowed to read them.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    elif not request.user.has_perm("integrations.view_metrics"):
        return HttpResponse(
            "You may not read the metrics.\n", status=403, content_type="text/plain"
        )
    # The classic text format (0.0.4): every Prometheus reads it, and the portal's names need
    # nothing newer.
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
