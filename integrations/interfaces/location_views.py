"""The location page: a thin view over :mod:`integrations.interfaces.location_page` and the services it acts by."""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations.interfaces.location_page import location_overview_get
from integrations.models import Connection, Subscription
from integrations.sync.connections import connection_test
from integrations.sync.subscriptions import subscription_run_now
from integrations.sync.verify import verify_enqueue
from portal.scoping import locations_for_user

TEST_PERMISSION = "integrations.change_connection"
RUN_PERMISSION = "integrations.run_subscription"


def _location(request, location_pk):
    location = (
        locations_for_user(request.user).select_related("agency").filter(pk=location_pk).first()
    )
    if location is None:  # like every other scoped page: another location's URL is a missing one
        raise Http404("No such location, or it is not assigned to you.")
    return location


def location_view(request, location_pk):
    location = _location(request, location_pk)
    overview = location_overview_get(location=location, user=request.user)
    user = request.user
    gone = (Connection.Status.DISCONNECTED, Connection.Status.UNINSTALLED)
    active = [c for c in overview.connections if c.status not in gone]
    context = {
        **_site(request),
        "title": location.name,
        "overview": overview,
        "may_test": user.has_perm(TEST_PERMISSION) and bool(active),
        "may_disconnect": user.has_perm(TEST_PERMISSION) and bool(active),
        "may_connect": user.has_perm("integrations.add_connection"),
        "may_run": user.has_perm(RUN_PERMISSION),
        "may_view_jobs": user.has_perm("integrations.view_job"),
        "may_view_subscriptions": user.has_perm("integrations.view_subscription"),
        "may_view_synclog": user.has_perm("integrations.view_synclog"),
        "may_view_verifications": user.has_perm("integrations.view_verification"),
        "may_export_verifications": user.has_perm("integrations.export_verification"),
        "may_verify": user.has_perm(RUN_PERMISSION) and bool(active),
        "active_connections": active,
        "connect_url": reverse("integrations:connect_start")
        + f"?kind=location&location={location.pk}",
        "live_url": reverse("admin:location_overview_live", args=[location.pk]),
        "act_url": reverse("admin:location_overview_act", args=[location.pk]),
    }
    return TemplateResponse(request, "portal/location.html", context)


def location_live_view(request, location_pk):
    """The live part (health, subscriptions' progress) the page re-fetches every few seconds."""
    location = _location(request, location_pk)
    overview = location_overview_get(location=location, user=request.user)
    context = {
        "overview": overview,
        "may_run": request.user.has_perm(RUN_PERMISSION),
        "act_url": reverse("admin:location_overview_act", args=[location.pk]),
    }
    return TemplateResponse(request, "portal/location_live.html", context)


def location_act_view(request, location_pk):
    """POST only: test the connection, run or backfill a subscription; then back to the page."""
    location = _location(request, location_pk)
    page = reverse("admin:location_overview", args=[location.pk])
    if request.method != "POST":
        return redirect(page)
    action = request.POST.get("do", "")
    if action == "test":
        if not request.user.has_perm(TEST_PERMISSION):
            raise PermissionDenied("Testing a connection needs permission to change connections.")
        for connection in Connection.objects.filter(location=location).exclude(
            status=Connection.Status.DISCONNECTED
        )[:5]:
            report = connection_test(connection_id=connection.pk)
            messages.add_message(
                request,
                messages.SUCCESS if report.ok else messages.WARNING,
                f"{connection}: {report.message}",
            )
    elif action in ("run", "backfill"):
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied(
                "Running a subscription needs the permission to run subscriptions."
            )
        subscription = Subscription.objects.filter(
            location=location, pk=request.POST.get("subscription") or 0
        ).first()
        if subscription is None:
            raise Http404("No such subscription on this location.")
        job = subscription_run_now(
            subscription_id=subscription.pk, user_id=request.user.pk, backfill=action == "backfill"
        )
        if job is None:
            messages.warning(request, f"{subscription.trigger} is running now; left alone.")
        else:
            messages.success(
                request,
                f"{'Backfill' if action == 'backfill' else 'Run'} of "
                f"{subscription.trigger} queued as job {job.pk}.",
            )
    elif action == "verify":
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied("Verifying needs the permission to run subscriptions.")
        job = verify_enqueue(
            location_id=location.pk, user_id=request.user.pk, label=uuid.uuid4().hex
        )
        messages.success(request, f"Verification of {location.name} queued as job {job.pk}.")
    else:
        messages.error(request, f"Unknown action {action[:40]!r}; nothing was done.")
    return redirect(page)


def _site(request):
    from django.contrib import admin

    return admin.site.each_context(request)


def location_urls(site):
    from django.urls import path

    from integrations.interfaces.alert_views import alert_settings_view

    return [
        path("alerts/settings/", site.admin_view(alert_settings_view), name="alert_settings"),
        path(
            "locations/<int:location_pk>/", site.admin_view(location_view), name="location_overview"
        ),
        path(
            "locations/<int:location_pk>/live/",
            site.admin_view(location_live_view),
            name="location_overview_live",
        ),
        path(
            "locations/<int:location_pk>/act/",
            site.admin_view(location_act_view),
            name="location_overview_act",
        ),
    ]
