from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from integrations.ghl.errors import GhlError
from integrations.models import Connection
from integrations.sync.connections import (
    apps_for_user,
    connection_disconnect,
    connection_private_token_set,
    connection_refresh_now,
    connection_test,
    connections_reconsent,
)
from portal.admin_scoping import LocationScopedAdminMixin
from portal.scoping import agencies_for_user, locations_for_user, user_sees_all_locations


class ConnectionForm(forms.ModelForm):
    """Adds or replaces a private integration token; OAuth connections come from Connect."""

    new_private_token = forms.CharField(
        label="private integration token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Paste the token from HighLevel's Private Integrations page. Never shown again; "
        "leave empty to keep the stored one.",
    )

    user = None  # the signed-in user, set by ConnectionAdmin.get_form

    class Meta:
        model = Connection
        fields = ["app", "agency", "location"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not data.get("new_private_token"):
            raise forms.ValidationError(
                "Paste a private integration token. To connect with OAuth use "
                "“Connect location” or “Connect agency” on the connections list instead."
            )
        location = data.get("location")
        if (
            self.instance.pk is None
            and self.user is not None
            and not user_sees_all_locations(self.user)
        ):
            # Without a location this would be an agency connection: only for those who see all.
            if location is None:
                self.add_error(
                    "location",
                    "Pick one of your locations: only users who see every "
                    "location may add an agency connection.",
                )
            elif not locations_for_user(self.user).filter(pk=location.pk).exists():
                self.add_error("location", "You may not connect this location.")
        if location and data.get("agency") and location.agency_id != data["agency"].pk:
            self.add_error("location", "This location belongs to another agency.")
        return data


STATUS_COLOURS = {"active": "#2e7d32", "needs_reauth": "#c62828", "disconnected": "#757575"}


class ReconsentFilter(admin.SimpleListFilter):
    title = "re-consent"
    parameter_name = "reconsent"

    def lookups(self, request, model_admin):
        return [("yes", "needed"), ("no", "not needed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(reconsent_scopes="")
        if self.value() == "no":
            return queryset.filter(reconsent_scopes="")
        return queryset


@admin.register(Connection)
class ConnectionAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    form = ConnectionForm
    change_list_template = "integrations/admin/connection_changelist.html"
    list_display = [
        "__str__",
        "kind",
        "auth_type",
        "status_badge",
        "token_expires_at",
        "last_success_at",
        "last_error_short",
        "reconsent_short",
    ]
    list_filter = ["status", "kind", "auth_type", "app", ReconsentFilter]
    list_select_related = ["app", "location", "agency"]
    search_fields = [
        "location__name",
        "location__location_id",
        "agency__name",
        "agency__company_id",
    ]
    actions = ["test_connection", "refresh_token_now", "reconsent", "disconnect"]
    readonly_fields = [
        "kind",
        "auth_type",
        "status",
        "scopes",
        "reconsent_scopes",
        "token_expires_at",
        "token_refreshed_at",
        "highlevel_user_id",
        "parent",
        "last_error",
        "last_error_at",
        "last_success_at",
        "connected_by",
        "created_at",
        "updated_at",
        "agency_locations_link",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Scoped staff see only their agencies and the apps connecting them, never the others' names.
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_for_user(request.user)
        elif db_field.name == "app":
            kwargs["queryset"] = apps_for_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if (
            not change
            and not user_sees_all_locations(request.user)
            and not (
                obj.location_id
                and locations_for_user(request.user).filter(pk=obj.location_id).exists()
            )
        ):
            raise PermissionDenied("You may connect only the locations you are assigned to.")
        token = form.cleaned_data.get("new_private_token")
        if token:
            connection_private_token_set(connection=obj, token=token, actor=request.user)
        else:
            obj.save()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["app", "agency", "location"]
        return fixed + self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["app", "agency", "location", "new_private_token"]
        fields = ["app", "agency", "location", *self.readonly_fields]
        if obj.auth_type == Connection.AuthType.PRIVATE:
            fields.append("new_private_token")
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("app", "location", "agency")

    def changelist_view(self, request, extra_context=None):
        stuck = self.get_queryset(request).filter(status=Connection.Status.NEEDS_REAUTH).count()
        if stuck and request.method == "GET":
            messages.warning(
                request,
                f"{stuck} connection{'s' if stuck != 1 else ''} need{'s' if stuck == 1 else ''} "
                "re-auth: HighLevel refused the refresh token, so their jobs are stopped. Filter by "
                "status “Needs re-auth” and use Connect again.",
            )
        extra_context = {
            **(extra_context or {}),
            "connect_url": reverse("integrations:connect_start"),
            "can_connect": request.user.has_perm("integrations.add_connection"),
            # Connecting an agency reaches every one of its locations.
            "can_connect_agency": request.user.has_perm("integrations.add_connection")
            and user_sees_all_locations(request.user),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<strong style="color:{}">{}</strong>',
            STATUS_COLOURS.get(obj.status, "#000"),
            obj.get_status_display(),
        )

    @admin.display(description="last error")
    def last_error_short(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description="installed locations")
    def agency_locations_link(self, obj):
        if obj.kind != Connection.Kind.AGENCY or obj.status != Connection.Status.ACTIVE:
            return "—"
        return format_html(
            '<a href="{}">List and connect installed locations</a>',
            reverse("integrations:agency_locations", args=[obj.pk]),
        )

    # --- actions (bounded HighLevel calls the user asked for) --------------------------------
    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request, queryset):
        for connection in queryset[:20]:
            report = connection_test(connection_id=connection.pk)
            text = f"{connection}: {report.message}"
            if report.latency_ms:
                text += (
                    f" {report.latency_ms} ms; burst left {report.rate_remaining}; "
                    f"daily left {report.daily_remaining}."
                )
            if report.missing_scopes:
                text += " Missing scopes: " + ", ".join(report.missing_scopes) + "."
            self.message_user(request, text, messages.SUCCESS if report.ok else messages.WARNING)

    @admin.action(description="Refresh token now", permissions=["change"])
    def refresh_token_now(self, request, queryset):
        for connection in queryset[:20]:
            if connection.auth_type == Connection.AuthType.PRIVATE:
                self.message_user(
                    request, f"{connection}: private tokens do not refresh.", messages.WARNING
                )
                continue
            try:
                fresh = connection_refresh_now(connection_id=connection.pk, actor=request.user)
            except GhlError as exc:
                self.message_user(request, f"{connection}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{connection}: refreshed, valid until "
                    f"{fresh.token_expires_at:%Y-%m-%d %H:%M} UTC.",
                    messages.SUCCESS,
                )

    @admin.display(description="re-consent")
    def reconsent_short(self, obj):
        return obj.reconsent_scopes or "—"

    @admin.action(description="Send through re-consent (missing scopes)", permissions=["change"])
    def reconsent(self, request, queryset):
        report = connections_reconsent(
            connection_ids=list(queryset.values_list("pk", flat=True)), user=request.user
        )
        for app, scopes in report.scopes_added.items():
            self.message_user(
                request, f"{app}: consent now asks for {', '.join(scopes)}.", messages.INFO
            )
        connect = reverse("integrations:connect_start")
        for _parent, names in report.agencies.items():
            self.message_user(
                request,
                format_html(
                    'Approve once for the agency (<a href="{}?kind=agency">connect the agency '
                    "again</a>), then mint location tokens: {}.",
                    connect,
                    ", ".join(names),
                ),
                messages.WARNING,
            )
        for location_id in report.locations:
            self.message_user(
                request,
                format_html(
                    '<a href="{}?kind=location&amp;location={}">Connect location {} again</a> '
                    "to approve the new scopes.",
                    connect,
                    location_id,
                    location_id,
                ),
                messages.WARNING,
            )
        if report.skipped:
            self.message_user(
                request, f"{report.skipped} connection(s) need no re-consent.", messages.INFO
            )

    @admin.action(description="Disconnect (wipes tokens, keeps history)", permissions=["change"])
    def disconnect(self, request, queryset):
        if request.POST.get("confirmed") != "yes":
            # Nothing happens until the user has seen what goes and said yes.
            context = {
                **self.admin_site.each_context(request),
                "title": "Disconnect these connections?",
                "opts": self.opts,
                "connections": list(queryset.select_related("app", "location", "agency")),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "integrations/admin/disconnect_confirm.html", context)
        count = 0
        for connection in queryset:
            connection_disconnect(connection_id=connection.pk, actor=request.user)
            count += 1
        self.message_user(
            request,
            f"Disconnected {count} connection(s); their tokens are wiped.",
            messages.SUCCESS,
        )
