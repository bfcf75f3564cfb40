"""Connect from the admin: thin views over integrations.sync.onboarding."""

from django.contrib import messages
from django.contrib.admin import site as admin_site
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from integrations.ghl.errors import GhlError
from integrations.interfaces.forms import ConnectForm
from integrations.models import Connection, LocationMintBatch
from integrations.sync.onboarding import (
    ConnectRefused,
    installed_locations_list,
    mint_batch_create,
    oauth_finish,
    oauth_start,
)
from portal.scoping import user_sees_all_locations

INSTALLED_SESSION_KEY = "integrations_installed_{}"


def _context(request, **extra):
    return {**admin_site.each_context(request), **extra}


@staff_member_required
def connect_start(request):
    if not request.user.has_perm("integrations.add_connection"):
        raise PermissionDenied(
            "Connecting needs permission to add connections; your role may only look."
        )
    kind = request.GET.get("kind") or request.POST.get("kind") or Connection.Kind.LOCATION
    if kind == Connection.Kind.AGENCY and not user_sees_all_locations(request.user):
        raise PermissionDenied(
            "Connecting an agency reaches all its locations: only users who see "
            "every location may do it."
        )
    if request.method == "POST":
        form = ConnectForm(request.POST, user=request.user)
        if form.is_valid():
            url = oauth_start(
                session=request.session,
                app=form.cleaned_data["app"],
                kind=form.cleaned_data["kind"],
                location=form.cleaned_data.get("location"),
                agency=form.cleaned_data.get("agency"),
            )
            return redirect(url)
    else:
        form = ConnectForm(
            initial={"kind": kind, "location": request.GET.get("location")}, user=request.user
        )
    title = "Connect an agency" if kind == Connection.Kind.AGENCY else "Connect a location"
    return render(
        request,
        "integrations/connect_start.html",
        _context(request, form=form, title=title, kind=kind),
    )


@staff_member_required
def oauth_callback(request):
    try:
        connection = oauth_finish(
            session=request.session,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            callback_url=request.build_absolute_uri(request.path),
            user=request.user,
            error=request.GET.get("error", ""),
        )
    except ConnectRefused as exc:
        return render(
            request,
            "integrations/connect_refused.html",
            _context(request, title="Connection refused", reason=str(exc)),
            status=400,
        )
    messages.success(request, f"Connected {connection}.")
    # A redirect, so the one-time code leaves the address bar and the history.
    if connection.kind == Connection.Kind.AGENCY:
        return redirect("integrations:agency_locations", connection_id=connection.pk)
    return redirect("admin:integrations_connection_change", connection.pk)


def _agency_connection(request, connection_id):
    if not (
        request.user.has_perm("integrations.change_connection")
        and user_sees_all_locations(request.user)
    ):
        raise PermissionDenied(
            "Connecting an agency's locations needs permission to change "
            "connections and to see every location."
        )
    return get_object_or_404(
        Connection, pk=connection_id, kind=Connection.Kind.AGENCY, status=Connection.Status.ACTIVE
    )


def _existing_connections(connection, installed_ids):
    """Live connections (any kind of authorisation) of the same app to these HighLevel locations."""
    return {
        c.location.location_id: c
        for c in Connection.objects.filter(
            app=connection.app, location__location_id__in=installed_ids
        )
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("location", "connected_by")
    }


@staff_member_required
def agency_locations(request, connection_id):
    """Lists the agency's installed locations, the already-connected ones apart.

    *Connect all* connects only the ones not connected yet; an existing connection (e.g. one a
    staff member made with their own consent) is replaced only when its *Replace* box is ticked.
    """
    connection = _agency_connection(request, connection_id)
    session_key = INSTALLED_SESSION_KEY.format(connection.pk)
    if request.method == "POST":
        installed = request.session.get(session_key) or []
        existing = _existing_connections(connection, [loc["id"] for loc in installed])
        chosen = set(request.POST.getlist("location"))
        replace = set(request.POST.getlist("replace"))
        if request.POST.get("all"):
            picked = [loc for loc in installed if loc["id"] not in existing]
        else:
            picked = [loc for loc in installed if loc["id"] in chosen and loc["id"] not in existing]
        picked += [
            {**loc, "replace": True}
            for loc in installed
            if loc["id"] in replace and loc["id"] in existing
        ]
        if not picked:
            messages.error(
                request,
                "Nothing to connect: pick at least one location not connected yet, "
                "or tick Replace on a connected one.",
            )
            return redirect("integrations:agency_locations", connection_id=connection.pk)
        batch = mint_batch_create(connection_id=connection.pk, locations=picked, user=request.user)
        return redirect("integrations:mint_progress", batch_id=batch.pk)
    try:
        installed = installed_locations_list(connection_id=connection.pk)
    except GhlError as exc:
        messages.error(request, f"Could not list the installed locations: {exc}")
        return redirect("admin:integrations_connection_change", connection.pk)
    request.session[session_key] = installed
    existing = _existing_connections(connection, [loc["id"] for loc in installed])
    new_rows = [loc for loc in installed if loc["id"] not in existing]
    connected_rows = [
        {**loc, "connection": existing[loc["id"]]} for loc in installed if loc["id"] in existing
    ]
    return render(
        request,
        "integrations/agency_locations.html",
        _context(
            request,
            title=f"Locations of {connection.agency.name}",
            connection=connection,
            new_rows=new_rows,
            connected_rows=connected_rows,
            total=len(installed),
        ),
    )


@staff_member_required
def mint_progress(request, batch_id):
    batch = get_object_or_404(
        LocationMintBatch.objects.select_related("agency_connection"), pk=batch_id
    )
    _agency_connection(request, batch.agency_connection_id)
    running = batch.status in (LocationMintBatch.Status.QUEUED, LocationMintBatch.Status.RUNNING)
    return render(
        request,
        "integrations/mint_progress.html",
        _context(
            request,
            title="Connecting locations",
            batch=batch,
            running=running,
            changelist=reverse("admin:integrations_connection_changelist"),
        ),
    )
