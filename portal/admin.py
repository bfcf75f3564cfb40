from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from portal.admin_filters import time_range_filter
from portal.admin_logs import AppendOnlyAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin
from portal.models import Agency, AgencySingleSignOn, AuditEvent, Location
from portal.paginator import NoCountAdminMixin
from portal.scoping import queryset_scope_agency, user_agencies_other


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "company_id", "auto_connect_new_locations", "created_at"]
    search_fields = ["name", "company_id"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return queryset_scope_agency(
            super().get_queryset(request), user=request.user, agency_path="pk"
        )


class LocationForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        agency = data.get("agency")
        if agency is not None and data.get("staff") is not None:
            elsewhere = [
                user.username
                for user in data["staff"]
                if user_agencies_other(user=user, agency_id=agency.pk)
            ]
            if elsewhere:
                self.add_error(
                    "staff",
                    "Staff are assigned within one agency: "
                    f"{', '.join(sorted(elsewhere))} already work for another agency.",
                )
        return data


@admin.register(Location)
class LocationAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    location_path = ""
    form = LocationForm
    list_display = ["name", "location_id", "agency", "time_zone"]
    list_filter = ["agency"]
    list_select_related = ["agency"]
    search_fields = ["name", "location_id"]
    filter_horizontal = ["staff"]
    readonly_fields = ["quarantined_records"]

    @admin.display(description="quarantined records")
    def quarantined_records(self, obj):
        """Records of this location the sync set aside (mappings' *Quarantined records*)."""
        if obj is None or obj.pk is None:
            return "—"
        model = apps.get_model("mappings", "QuarantinedRecord")
        count = model.objects.filter(location=obj, resolved_at__isnull=True).count()
        url = reverse("admin:mappings_quarantinedrecord_changelist")
        return format_html(
            '<a href="{}?location__id__exact={}&amp;state=open">{} set aside</a>',
            url,
            obj.pk,
            count,
        )

    actions = ["apply_flow_templates"]

    @admin.action(
        description="Apply flow templates to the selected locations…", permissions=["apply_flows"]
    )
    def apply_flow_templates(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:mappings_mapping_apply_template')}?locations={ids}")

    def has_apply_flows_permission(self, request):
        return request.user.has_perm("mappings.add_mapping")


@admin.register(AuditEvent)
class AuditEventAdmin(
    AppendOnlyAdminMixin, NoCountAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin
):
    """Append-only: nobody adds, edits or deletes audit events here, superusers included."""

    list_display = ["at", "actor", "action", "location", "target"]
    list_filter = ["action", time_range_filter("at"), "location"]
    list_select_related = ["actor", "location"]
    search_fields = ["target", "action"]


class AuthenticatorAdmin(admin.ModelAdmin):
    """Two-factor devices: who has which kind, since when. The secrets (TOTP key, recovery-code
    seed) are never shown nor editable; a superuser may delete a lost device, and its user enrols
    again at the next sign-in."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(Authenticator)
admin.site.register(Authenticator, AuthenticatorAdmin)

# Single sign-on is configured per agency below (secrets encrypted); allauth's own tables for it
# (apps with plaintext secrets, provider tokens, linked accounts) stay out of the control panel.
for _model in (SocialApp, SocialToken, SocialAccount):
    admin.site.unregister(_model)


class AgencySingleSignOnForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Never shown again once saved. Leave empty to keep the stored secret.",
    )

    class Meta:
        model = AgencySingleSignOn
        fields = [
            "agency",
            "slug",
            "enabled",
            "issuer",
            "client_id",
            "mfa_by_provider",
            "password_sign_in",
            "active_claim",
        ]

    def clean(self):
        data = super().clean()
        if data.get("new_client_secret"):
            self.instance.client_secret = data["new_client_secret"]
        elif not self.instance.client_secret_encrypted:
            self.add_error("new_client_secret", "The provider's client secret is required.")
        return data


@admin.register(AgencySingleSignOn)
class AgencySingleSignOnAdmin(admin.ModelAdmin):
    """Superusers only (no role holds its permissions): who may sign in, and how."""

    form = AgencySingleSignOnForm
    list_display = ["agency", "slug", "enabled", "issuer", "mfa_by_provider", "password_sign_in"]
    list_filter = ["enabled", "mfa_by_provider", "password_sign_in"]
    readonly_fields = ["redirect_uri"]

    @admin.display(description="redirect URI to register at the provider")
    def redirect_uri(self, obj):
        if obj is None or not obj.slug:
            return "-"
        return f"{settings.PORTAL_BASE_URL}/accounts/oidc/{obj.slug}/login/callback/"


from portal import admin_queue  # noqa: E402,F401  (re-registers django-q2's admins)
