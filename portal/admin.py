from django import forms
from django.apps import apps
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from portal.admin_filters import time_range_filter
from portal.admin_logs import AppendOnlyAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin
from portal.models import Agency, AuditEvent, Location
from portal.paginator import NoCountAdminMixin
from portal.scoping import queryset_scope_agency, user_agencies_other


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "company_id", "created_at"]
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


from portal import admin_queue  # noqa: E402,F401  (re-registers django-q2's admins)
