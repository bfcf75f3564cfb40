from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from integrations.interfaces.event_forms import ResyncByIdForm
from integrations.sync.erasure import ErasureError, erasure_enqueue
from integrations.sync.rankr_events import rankr_lead_create, rankr_user_create, rankr_user_delete
from integrations.sync.record_history import record_history_get
from integrations.sync.resync import resync_enqueue
from integrations.sync.targets import EventError
from mappings.entities import ENTITIES
from portal.admin_filters import LocationFilter
from portal.admin_scoping import LocationScopedAdminMixin
from portal.paginator import NoCountAdminMixin
from portal.scoping import locations_for_user
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

RESYNC_PERMISSION = "rankr.resync_contact"
ERASE_PERMISSION = "rankr.erase_contact"


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
    """Records are written by the sync; roles only read them here. A record's page has *Resync*
    (for who may) and its sync history: the writes that changed it, their jobs and mapping
    versions, and the HighLevel calls about it."""

    change_form_template = "admin/rankr/record_change_form.html"
    list_filter = [DeletedFilter, LocationFilter]
    list_select_related = ["location"]
    readonly_fields = ["fingerprint", "created_at", "updated_at", "deleted_at"]
    search_fields = ["ghl_id"]
    shown = []

    def get_list_display(self, request):
        return [*self.shown, "location", "ghl_id", "updated_at", "deleted_at"]

    def has_resync_permission(self, request):
        return request.user.has_perm(RESYNC_PERMISSION)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                "<path:object_id>/resync/",
                self.admin_site.admin_view(self.resync_one_view),
                name="%s_%s_resync_one" % info,
            )
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if record is not None and self.has_view_permission(request, record):
            history = record_history_get(record=record, user=request.user)
            extra.update(
                {
                    "history": history,
                    "may_resync": history.resyncable and self.has_resync_permission(request),
                    "may_view_jobs": request.user.has_perm("integrations.view_job"),
                    "may_view_versions": request.user.has_perm("mappings.view_mappingversion"),
                    "may_view_synclog": request.user.has_perm("integrations.view_synclog"),
                    "resync_url": reverse(
                        "admin:%s_%s_resync_one" % (self.opts.app_label, self.opts.model_name),
                        args=[record.pk],
                    ),
                }
            )
        return super().change_view(request, object_id, form_url, extra)

    def resync_one_view(self, request, object_id):
        """POST: queue a resync of this record from HighLevel, then back to its page."""
        record = self.get_object(request, object_id)
        if record is None:
            raise Http404("No such record, or it is not in your locations.")
        page = reverse(
            "admin:%s_%s_change" % (self.opts.app_label, self.opts.model_name), args=[record.pk]
        )
        if request.method != "POST":
            return redirect(page)
        if not self.has_resync_permission(request):
            raise PermissionDenied(
                "Resyncing needs the resync permission (agency staff and support have it)."
            )
        try:
            job = resync_enqueue(
                location_id=record.location_id,
                entity=record.KIND,
                ghl_id=record.ghl_id or "",
                contact_ghl_id=getattr(record, "contact_ghl_id", ""),
                user_id=request.user.pk,
            )
        except EventError as exc:
            self.message_user(request, f"Not resynced: {exc}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Resync queued as job {job.pk}; its result appears in the "
                "history below when it has run.",
                messages.SUCCESS,
            )
        return redirect(page)


class LeadForm(forms.ModelForm):
    class Meta:
        model = Contact
        exclude = ["ghl_id"]  # noqa: DJ006 (every other field is editable; HighLevel sets the id)

    def clean(self):
        data = super().clean()
        if self.instance._state.adding and not data.get("email") and not data.get("phone"):
            raise forms.ValidationError(
                "A lead needs an email or a phone so HighLevel can match it."
            )
        return data


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    """Adding a contact here creates a Rankr lead and sends it to HighLevel (a Rankr event)."""

    form = LeadForm
    shown = ["__str__", "email", "phone", "company"]
    search_fields = ["ghl_id", "email", "first_name", "last_name", "phone"]
    readonly_fields = ["ghl_id", *RecordAdmin.readonly_fields]
    actions = ["resync", "erase_personal_data"]
    change_list_template = "admin/rankr/contact/change_list.html"

    def has_erase_permission(self, request):
        return request.user.has_perm(ERASE_PERMISSION)

    @admin.action(description="Erase personal data (on request)…", permissions=["erase"])
    def erase_personal_data(self, request, queryset):
        """Asks to confirm, then queues the erasure of each selected contact's person."""
        contacts = list(queryset.select_related("location"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Erase personal data",
                "contacts": contacts,
            }
            return TemplateResponse(request, "admin/rankr/contact/erase_confirm.html", context)
        queued = []
        for contact in contacts:
            try:
                queued.append(erasure_enqueue(contact_id=contact.pk, user_id=request.user.pk).pk)
            except ErasureError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if queued:
            self.message_user(
                request,
                f"Erasure queued for {len(queued)} contact(s): jobs {', '.join(map(str, queued))}; "
                "each leaves a tombstone and a person.erased audit event when it has run.",
                messages.SUCCESS,
            )
        return None

    @admin.action(description="Resync from HighLevel", permissions=["resync"])
    def resync(self, request, queryset):
        queued, missing = [], 0
        for contact in queryset.only("pk", "location_id", "ghl_id"):
            if not contact.ghl_id:
                missing += 1
                continue
            job = resync_enqueue(
                location_id=contact.location_id,
                entity="contact",
                ghl_id=contact.ghl_id,
                user_id=request.user.pk,
            )
            queued.append(job.pk)
        if queued:
            self.message_user(
                request,
                f"Resync queued for {len(queued)} contact(s): jobs {', '.join(map(str, queued))}.",
                messages.SUCCESS,
            )
        if missing:
            self.message_user(
                request,
                f"{missing} contact(s) have no HighLevel id yet and were left out.",
                messages.WARNING,
            )

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        values = {
            name: form.cleaned_data[name]
            for name in Contact.mapped_field_names()
            if name in form.cleaned_data
        }
        lead = rankr_lead_create(
            location_id=obj.location_id, values=values, user_id=request.user.pk
        )
        obj.pk, obj._state.adding = lead.pk, False

    def changelist_view(self, request, extra_context=None):
        extra = {
            "has_resync_permission": self.has_resync_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def get_urls(self):
        own = [
            path(
                "resync-by-id/",
                self.admin_site.admin_view(self.resync_by_id_view),
                name="rankr_contact_resync_by_id",
            )
        ]
        return own + super().get_urls()  # RecordAdmin's: the record's own resync

    def resync_by_id_view(self, request):
        if not self.has_resync_permission(request):
            raise PermissionDenied
        form = ResyncByIdForm(request.POST or None, locations=locations_for_user(request.user))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = resync_enqueue(
                    location_id=data["location"].pk,
                    entity=data["entity"],
                    ghl_id=data["ghl_id"],
                    contact_ghl_id=data["contact_ghl_id"],
                    user_id=request.user.pk,
                )
            except EventError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Resync queued as job {job.pk}.", messages.SUCCESS)
                return redirect(reverse("admin:integrations_job_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Resync a HighLevel record by id",
            "form": form,
        }
        return TemplateResponse(request, "admin/rankr/contact/resync_by_id.html", context)


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


class RankrUserForm(forms.ModelForm):
    class Meta:
        model = RankrUser
        exclude = ["ghl_id"]  # noqa: DJ006 (every other field is editable; HighLevel sets the id)

    def clean_email(self):
        email = self.cleaned_data.get("email")
        if not email:
            raise forms.ValidationError("An email is required: HighLevel identifies users by it.")
        return email


@admin.register(RankrUser)
class RankrUserAdmin(RecordAdmin):
    """Adding or deleting a Rankr user here creates or deletes it in HighLevel (Rankr events)."""

    form = RankrUserForm
    shown = ["full_name", "email", "role"]
    search_fields = ["ghl_id", "email", "full_name"]
    readonly_fields = ["ghl_id", *RecordAdmin.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        user = rankr_user_create(
            location_id=obj.location_id,
            email=obj.email,
            full_name=obj.full_name,
            role=obj.role,
            user_id=request.user.pk,
        )
        obj.pk, obj._state.adding = user.pk, False

    def delete_model(self, request, obj):
        rankr_user_delete(rankr_user_id=obj.pk, user_id=request.user.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            rankr_user_delete(rankr_user_id=pk, user_id=request.user.pk)


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


def entity_admins_register(site=admin.site):
    """A read-only record admin for every registered entity's Rankr model that has none of its
    own: an entity added to the registry shows in the admin with nothing else written."""
    for entity in ENTITIES.values():
        if entity.rankr_model is not None and not site.is_registered(entity.rankr_model):
            site.register(entity.rankr_model, RecordAdmin)


entity_admins_register()
