from django.contrib import admin

from portal.admin_filters import LocationFilter
from portal.paginator import NoCountAdminMixin
from portal.scoping import LocationScopedAdminMixin
from rankr.models import (
    Appointment,
    Contact,
    Note,
    Opportunity,
    PostStatistic,
    RankrUser,
    SocialTag,
    SocialTagDetail,
    Task,
    Workflow,
)


class DeletedFilter(admin.SimpleListFilter):
    title = "in HighLevel"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Deleted in HighLevel")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class RecordAdmin(NoCountAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin):
    """Records are written by the sync; roles only read them here."""

    list_filter = [DeletedFilter, LocationFilter]
    list_select_related = ["location"]
    readonly_fields = ["fingerprint", "created_at", "updated_at", "deleted_at"]
    search_fields = ["ghl_id"]
    shown = []

    def get_list_display(self, request):
        return [*self.shown, "location", "ghl_id", "updated_at", "deleted_at"]


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    shown = ["__str__", "email", "phone", "company"]
    search_fields = ["ghl_id", "email", "first_name", "last_name", "phone"]


@admin.register(Task)
class TaskAdmin(RecordAdmin):
    shown = ["title", "status", "due_date"]
    list_filter = [DeletedFilter, "status", "location"]
    search_fields = ["ghl_id", "title", "contact_ghl_id"]


@admin.register(Note)
class NoteAdmin(RecordAdmin):
    shown = ["__str__", "title", "noted_at"]
    search_fields = ["ghl_id", "title", "contact_ghl_id"]


@admin.register(Appointment)
class AppointmentAdmin(RecordAdmin):
    shown = ["title", "status", "starts_at"]
    search_fields = ["ghl_id", "title", "contact_ghl_id"]


@admin.register(RankrUser)
class RankrUserAdmin(RecordAdmin):
    shown = ["full_name", "email", "role"]
    search_fields = ["ghl_id", "email", "full_name"]


@admin.register(Opportunity)
class OpportunityAdmin(RecordAdmin):
    shown = ["name", "status", "monetary_value"]
    search_fields = ["ghl_id", "name", "contact_ghl_id"]


@admin.register(SocialTag)
class SocialTagAdmin(RecordAdmin):
    shown = ["name", "tagged_at"]
    search_fields = ["ghl_id", "name"]


@admin.register(SocialTagDetail)
class SocialTagDetailAdmin(RecordAdmin):
    shown = ["name"]
    search_fields = ["ghl_id", "name"]


@admin.register(PostStatistic)
class PostStatisticAdmin(RecordAdmin):
    shown = ["__str__", "measured_at"]


@admin.register(Workflow)
class WorkflowAdmin(RecordAdmin):
    shown = ["name", "status", "automation_status"]
    search_fields = ["ghl_id", "name"]
