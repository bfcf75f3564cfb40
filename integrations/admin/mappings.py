from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from integrations.sync.preview import PreviewSampleUnavailable, preview_render, preview_sample_fetch
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.forms import MappingForm, PreviewForm, TemplateApplyForm
from mappings.models import Mapping, MappingVersion
from mappings.services import mapping_save
from mappings.transforms import TRANSFORMS
from portal.admin_logs import AppendOnlyAdminMixin
from portal.admin_scoping import LocationScopedAdminMixin
from portal.scoping import locations_for_user


class MappingVersionInline(admin.TabularInline):
    model = MappingVersion
    fields = ["number", "created_by", "created_at", "null_policy"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Mapping)
class MappingAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    form = MappingForm
    list_display = ["name", "location", "entity", "direction", "operation_key", "version"]
    list_filter = ["entity", "direction", "location"]
    list_select_related = ["location"]
    search_fields = ["name", "operation_key", "location__name"]
    readonly_fields = ["template_key", "created_at", "updated_at", "rule_reference"]
    fieldsets = [
        (None, {"fields": ["location", "name", "entity", "direction", "operation_key"]}),
        ("Rules", {"fields": ["null_policy", "rules", "rule_reference"]}),
        ("History", {"fields": ["template_key", "created_at", "updated_at"]}),
    ]
    inlines = [MappingVersionInline]
    change_form_template = "admin/mappings/mapping/change_form.html"
    change_list_template = "admin/mappings/mapping/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_version=Max("versions__number"))

    @admin.display(description="version", ordering="latest_version")
    def version(self, obj):
        return obj.latest_version

    @admin.display(description="transforms")
    def rule_reference(self, obj):
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (name, t.help, ", ".join(
                    f"{arg}{'' if spec.required else '?'}" for arg, spec in t.args.items()
                ) or "—")
                for name, t in TRANSFORMS.items()
            ),
        )
        return format_html(
            "<table><thead><tr><th>name</th><th>what it does</th><th>args (? optional)</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request, obj, form, change):
        mapping_save(mapping=obj, user_id=request.user.pk)

    def get_urls(self):
        own = [
            path(
                "<int:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="mappings_mapping_preview",
            ),
            path(
                "apply-template/",
                self.admin_site.admin_view(self.template_apply_view),
                name="mappings_mapping_apply_template",
            ),
        ]
        return own + super().get_urls()

    def preview_view(self, request, object_id):
        mapping = self.get_object(request, str(object_id))
        if mapping is None:
            raise Http404("No such mapping.")
        if not self.has_view_permission(request, mapping):
            raise PermissionDenied
        result = None
        form = PreviewForm(request.POST or None)
        if request.method == "POST" and "fetch" in request.POST:
            form = PreviewForm()
            try:
                sample = preview_sample_fetch(mapping_id=mapping.pk)
            except PreviewSampleUnavailable as exc:
                messages.error(request, str(exc))
            else:
                result = preview_render(mapping_id=mapping.pk, sample=sample)
        elif request.method == "POST" and form.is_valid():
            result = preview_render(mapping_id=mapping.pk, sample=form.cleaned_data["sample"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": mapping,
            "title": f"Preview: {mapping}",
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/mappings/mapping/preview.html", context)

    def template_apply_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TemplateApplyForm(request.POST or None, locations=locations_for_user(request.user))
        if request.method == "POST" and form.is_valid():
            location = form.cleaned_data["location"]
            # Applying a flow also starts its polling trigger (integrations owns subscriptions).
            from integrations.sync.flows import flow_apply

            created, kept, polling, notes = [], [], [], []
            for key in form.cleaned_data["templates"]:
                applied = flow_apply(template_key=key, location_id=location.pk, user_id=request.user.pk)
                (created if applied.mapping_created else kept).append(applied.mapping.name)
                if applied.subscription_created:
                    polling.append(applied.subscription.trigger)
                if applied.note:
                    notes.append(applied.note)
            if created:
                messages.success(request, f"Created for {location}: {', '.join(created)}.")
            if kept:
                messages.info(request, f"Already mapped at {location}, left as is: {', '.join(kept)}.")
            if polling:
                messages.success(request, f"Now polling every 5 minutes: {', '.join(polling)}.")
            for note in notes:
                messages.warning(request, note)
            url = reverse("admin:mappings_mapping_changelist")
            return redirect(f"{url}?location__id__exact={location.pk}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Apply flow templates to a location",
            "form": form,
            "templates": FLOW_TEMPLATES,
        }
        return TemplateResponse(request, "admin/mappings/mapping/apply_template.html", context)


@admin.register(MappingVersion)
class MappingVersionAdmin(AppendOnlyAdminMixin, LocationScopedAdminMixin, admin.ModelAdmin):
    """Versions are history: readable, never edited or deleted here."""

    location_path = "mapping__location"
    list_display = ["mapping", "number", "entity", "direction", "created_by", "created_at"]
    list_filter = ["entity", "direction"]
    list_select_related = ["mapping", "mapping__location", "created_by"]
    search_fields = ["mapping__name"]
    readonly_fields = [
        "mapping", "number", "entity", "direction", "null_policy", "rules", "created_by",
        "created_at",
    ]
    fields = readonly_fields
