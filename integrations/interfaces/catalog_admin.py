"""Admin pages of the catalog: the read-only operations browser and *Run action*.

The registry is data, not a table, so these are custom admin views (``admin.site.admin_view``:
staff only, admin look) mounted at ``/admin/catalog/`` by ``integrations.interfaces.catalog_urls``.
"""

import dataclasses
import uuid
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations.catalog.browse import UNNAMED, filter_choices, rows_filter
from integrations.catalog.connections import (
    ConnectionUnavailable,
    connection_info_get,
    connections_for_user,
)
from integrations.catalog.named import CATEGORIES, KINDS, TRIGGER, named_all
from integrations.catalog.polling import poll_plan
from integrations.catalog.privilege import operation_send_refusal
from integrations.catalog.registry import ACCESS_TYPES, operation_get
from integrations.interfaces.catalog_forms import OperationRunForm
from integrations.sync.runs import RunResult, operation_try
from portal.redact import _is_secret_key, text_redact

# Sending for real changes HighLevel data: only people who may change connections may do it.
RUN_PERMISSION = "integrations.change_connection"
FILTERS = ("q", "category", "kind", "scope", "access", "deprecated", "source")
PER_PAGE = 100


def operations_view(request):
    chosen = {name: request.GET.get(name, "") for name in FILTERS}
    rows = rows_filter(**chosen)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    choices = filter_choices()
    filters = [
        (
            "category",
            "Category",
            [(c, c) for c in CATEGORIES] + [(UNNAMED, "Not in the named catalog")],
        ),
        ("kind", "Kind", [(k, k.replace("_", " ")) for k in KINDS] + [(UNNAMED, "Unnamed")]),
        ("access", "Access type", [(a, a.replace("_", " ")) for a in ACCESS_TYPES]),
        ("deprecated", "Deprecated", [("yes", "Yes"), ("no", "No")]),
        ("scope", "Scope", [(s, s) for s in choices["scope"]]),
        ("source", "Spec file", [(s, s) for s in choices["source"]]),
    ]
    context = {
        **admin.site.each_context(request),
        "title": "HighLevel operations",
        "page": page,
        "total": len(rows),
        "chosen": chosen,
        "filters": [
            (name, label, [(value, text, chosen[name] == value) for value, text in options])
            for name, label, options in filters
        ],
        "query_prefix": urlencode({k: v for k, v in chosen.items() if v}) + "&",
        "run_url": reverse("catalog:run"),
        # Kept on each run link when the browser is opened from a connection's page.
        "connection": request.GET.get("connection", "")
        if request.GET.get("connection", "").isdigit()
        else "",
    }
    return TemplateResponse(request, "catalog/operations.html", context)


RESULTS_SESSION_KEY = "catalog_run_results"
RESULTS_KEPT = 10  # the latest results a user can come back to (reload, back button)


def run_view(request):
    """GET shows the form (and a stored result); POST runs, stores the result, redirects to it.

    Post, redirect, get: reloading the result page, or going back to it, never sends again.
    """
    try:
        operation = operation_get(request.GET.get("op", ""))
    except KeyError as exc:
        raise Http404(str(exc.args[0])) from None
    may_send = request.user.has_perm(RUN_PERMISSION)
    notice = ""
    try:
        choices = [(c.pk, str(c)) for c in connections_for_user(request.user)]
    except ConnectionUnavailable as exc:
        choices, notice = [], str(exc)
    stored = _result_load(request, request.GET.get("result", ""), operation)
    initial = {"connection": request.GET.get("connection", "")}  # from a connection's page
    if stored:
        initial = stored["data"]
    form = OperationRunForm(
        request.POST or None,
        request.FILES or None,
        operation=operation,
        connection_choices=choices,
        initial=initial,
        may_send=may_send,
    )
    result = RunResult(**stored["result"]) if stored else None
    if request.method == "POST" and form.is_valid():
        result = _run(request, form, operation)
        if result is not None and (result.ok or result.job_id):
            token = _result_store(request, operation, result, form)
            return redirect(
                f"{reverse('catalog:run')}?{urlencode({'op': operation.key, 'result': token})}"
            )
    context = {
        **admin.site.each_context(request),
        "title": f"Run {operation.key}",
        "operation": operation,
        "named": [n for n in named_all() if n.key == operation.key],
        "plans": [
            poll_plan(n) for n in named_all() if n.key == operation.key and n.kind == TRIGGER
        ],
        "form": form,
        "result": result,
        "notice": notice,
        "may_send": may_send,
        "send_refusal": operation_send_refusal(user=request.user, operation=operation)
        if may_send
        else "",
        "browser_url": reverse("catalog:operations"),
    }
    return TemplateResponse(request, "catalog/run.html", context)


def _secret_values(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_secret_key(key) and isinstance(item, str):
                yield item
            else:
                yield from _secret_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_values(item)


def _result_store(request, operation, result, form):
    """Keep the result in the session for the redirect, secrets (e.g. a password) masked."""
    token = uuid.uuid4().hex
    kept = [r for r in request.session.get(RESULTS_SESSION_KEY, []) if r.get("token") != token]
    secrets = [*_secret_values(form.body()), *_secret_values(form.params())]
    data = {
        k: text_redact(v, secrets=secrets)
        for k, v in form.data.items()
        if k not in ("csrfmiddlewaretoken", "confirm") and not _is_secret_key(k.partition("_")[2])
    }
    stored = {
        k: text_redact(v, secrets=secrets) if isinstance(v, str) else v
        for k, v in dataclasses.asdict(result).items()
    }
    kept.append({"token": token, "op": operation.key, "result": stored, "data": data})
    request.session[RESULTS_SESSION_KEY] = kept[-RESULTS_KEPT:]
    return token


def _result_load(request, token, operation):
    for item in request.session.get(RESULTS_SESSION_KEY, []) if token else []:
        if item.get("token") == token and item.get("op") == operation.key:
            item["result"]["missing_scopes"] = tuple(item["result"].get("missing_scopes") or ())
            return item
    return None


def _run(request, form, operation):
    dry_run = form.cleaned_data.get("dry_run", True)
    if not dry_run:
        refusal = operation_send_refusal(user=request.user, operation=operation)
        if refusal:
            raise PermissionDenied(refusal)
    connection = None
    if form.connection_id() is not None:
        try:
            connection = connection_info_get(connection_id=form.connection_id(), user=request.user)
        except ConnectionUnavailable as exc:
            form.add_error("connection", str(exc))
            return None
    result = operation_try(
        user=request.user,
        operation=operation,
        connection=connection,
        params=form.params(),
        body=form.body(),
        dry_run=dry_run,
    )
    if result.error:
        form.add_error(None, result.error)
    if result.field_errors:
        form.errors_apply(result.field_errors)
    return result


def catalog_urls():
    from django.urls import path

    return [
        path("operations/", admin.site.admin_view(operations_view), name="operations"),
        path("operations/run/", admin.site.admin_view(run_view), name="run"),
    ]
