from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from integrations.admin import mapping_views as admin_views
from integrations.sync.preview import PreviewSampleUnavailable, preview_render, preview_sample_fetch
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.forms import MappingForm, PreviewForm, TemplateApplyForm
from mappings.inheritance import mapping_override_drop, mapping_save_inherited
from mappings.models import Mapping, MappingVersion
from mappings.services import payloads_reapply_enqueue
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
    readonly_fields = ["template_key", "created_at", "updated_at", "rule_reference", "inheritance"]
    save_on_top = False
    fieldsets = [
        (None, {"fields": ["location", "name", "entity", "direction", "operation_key"]}),
        ("Rules", {"fields": ["null_policy", "rules", "rule_reference"]}),
        ("History", {"fields": ["template_key", "created_at", "updated_at"]}),
    ]
    inlines = [MappingVersionInline]
    change_form_template = "admin/mappings/mapping/change_form.html"
    change_list_template = "admin/mappings/mapping/change_list.html"
    actions = ["payloads_reapply"]

    @admin.action(
        description="Re-apply to the stored HighLevel payloads (no API requests)",
        permissions=["change"],
    )
    def payloads_reapply(self, request, queryset):
        queued = [m for m in queryset if payloads_reapply_enqueue(mapping=m)]
        skipped = queryset.count() - len(queued)
        if queued:
            self.message_user(
                request,
                f"{len(queued)} mapping(s) will be re-applied to their stored payloads.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} mapping(s) skipped: Rankr → HighLevel, or no payload stored yet.",
                messages.INFO,
            )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_version=Max("versions__number"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.agency_template_id is None:
            return fieldsets
        return [
            (None, fieldsets[0][1]),
            ("Agency template", {"fields": ["inheritance"]}),
            *fieldsets[1:],
        ]

    @admin.display(description="inherits")
    def inheritance(self, obj):
        if obj is None or obj.agency_template_id is None:
            return "—"
        version = obj.template_version
        url = reverse("admin:mappings_mapping_override_drop", args=[obj.pk])
        overrides = format_html_join(
            "",
            '<li><code>{}</code>: {} <button type="submit" formaction="{}" name="key" '
            'value="{}" class="button override-drop">Drop override</button></li>',
            (
                (key, "not used here" if rule is None else "this location's own rule", url, key)
                for key, rule in obj.overrides.items()
            ),
        )
        return format_html(
            '<div id="inheritance">Follows <a href="{}">{}</a>, template version {}. '
            "Rows that differ from the template are this location's overrides; saving keeps "
            "them as such.<ul>{}</ul>{}</div>",
            reverse("admin:mappings_mappingtemplate_change", args=[obj.agency_template_id]),
            obj.agency_template,
            version.number if version else "—",
            overrides,
            "" if obj.overrides else "No overrides: every rule comes from the template.",
        )

    @admin.display(description="version", ordering="latest_version")
    def version(self, obj):
        return obj.latest_version

    @admin.display(description="transforms")
    def rule_reference(self, obj):
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    name,
                    t.help,
                    ", ".join(
                        f"{arg}{'' if spec.required else '?'}" for arg, spec in t.args.items()
                    )
                    or "—",
                )
                for name, t in TRANSFORMS.items()
            ),
        )
        return format_html(
            "<details><summary>Every transform and its arguments</summary>"
            "<table><thead><tr><th>name</th><th>what it does</th><th>args (? optional)</th>"
            "</tr></thead><tbody>{}</tbody></table></details>",
            rows,
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        from integrations.sync.fields import mapping_source_fields

        form = super().get_form(request, obj, change=change, **kwargs)
        editor_url = (
            reverse("admin:mappings_mapping_editor", args=[obj.pk])
            if obj is not None
            else reverse("admin:mappings_mapping_editor_add")
        )
        return type(
            form.__name__,
            (form,),
            {
                "source_fields_provider": staticmethod(mapping_source_fields),
                "editor_url": editor_url,
            },
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_url"] = (
            reverse("admin:mappings_mapping_preview_unsaved", args=[obj.pk])
            if obj is not None
            else reverse("admin:mappings_mapping_preview_unsaved_add")
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        mapping_save_inherited(mapping=obj, user_id=request.user.pk)

    def override_drop_view(self, request, object_id):
        mapping = self.get_object(request, str(object_id))
        if mapping is None:
            raise Http404("No such mapping.")
        if request.method != "POST" or not self.has_change_permission(request, mapping):
            raise PermissionDenied
        key = request.POST.get("key", "")
        try:
            version = mapping_override_drop(mapping_id=mapping.pk, key=key, user_id=request.user.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Override {key!r} dropped: the template's rule applies "
                f"again (version {version.number}).",
            )
        return redirect(reverse("admin:mappings_mapping_change", args=[mapping.pk]))

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(
                lambda request, *args, **kwargs: function(self, request, *args, **kwargs)
            )

        own = [
            path("editor/", view(admin_views.editor_view), name="mappings_mapping_editor_add"),
            path(
                "<int:object_id>/editor/",
                view(admin_views.editor_view),
                name="mappings_mapping_editor",
            ),
            path(
                "preview/",
                view(admin_views.preview_unsaved_view),
                name="mappings_mapping_preview_unsaved_add",
            ),
            path(
                "<int:object_id>/preview/unsaved/",
                view(admin_views.preview_unsaved_view),
                name="mappings_mapping_preview_unsaved",
            ),
            path(
                "<int:object_id>/versions/",
                view(admin_views.versions_view),
                name="mappings_mapping_versions",
            ),
            path(
                "<int:object_id>/overrides/drop/",
                self.admin_site.admin_view(self.override_drop_view),
                name="mappings_mapping_override_drop",
            ),
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
        # Fetching a sample calls HighLevel: only for those who may change the mapping (an
        # auditor reads; nothing they do leaves the portal).
        may_fetch = self.has_change_permission(request, mapping)
        if request.method == "POST" and "fetch" in request.POST:
            if not may_fetch:
                raise PermissionDenied(
                    "Fetching a sample calls HighLevel; you may only preview a pasted one."
                )
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
            "may_fetch": may_fetch,
        }
        return TemplateResponse(request, "admin/mappings/mapping/preview.html", context)

    def template_apply_view(self, request):
        """Apply flow templates to one or many locations (the Locations list's action lands
        here with the chosen ones ticked)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        scoped = locations_for_user(request.user)
        initial = {
            "locations": [i for i in request.GET.get("locations", "").split(",") if i.isdigit()]
        }
        form = TemplateApplyForm(request.POST or None, initial=initial, locations=scoped)
        if request.method == "POST" and form.is_valid():
            # Applying a flow also starts its polling trigger (integrations owns subscriptions).
            from integrations.sync.flows import flows_apply_many

            report = flows_apply_many(
                template_keys=form.cleaned_data["templates"],
                location_ids=[loc.pk for loc in form.cleaned_data["locations"]],
                user_id=request.user.pk,
            )
            for line in report.created_lines():
                messages.success(request, line)
            for line in report.kept_lines():
                messages.info(request, line)
            if report.polling:
                messages.success(
                    request, f"Now polling every 5 minutes at {report.polling} location(s)."
                )
            for note in report.notes[:20]:
                messages.warning(request, note)
            if len(report.notes) > 20:
                messages.warning(request, f"… and {len(report.notes) - 20} more notes.")
            url = reverse("admin:mappings_mapping_changelist")
            chosen = form.cleaned_data["locations"]
            if len(chosen) == 1:
                return redirect(f"{url}?location__id__exact={chosen[0].pk}")
            return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Apply flow templates to locations",
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
        "mapping",
        "number",
        "entity",
        "direction",
        "null_policy",
        "rules",
        "created_by",
        "created_at",
    ]
    fields = readonly_fields
