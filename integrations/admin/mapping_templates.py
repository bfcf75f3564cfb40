"""Admin for agency mapping templates: edit (table editor), attach locations, staged rollout."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from integrations.admin import mapping_views as admin_views
from mappings.forms import MappingTemplateForm
from mappings.inheritance import template_attach, template_save
from mappings.models import Mapping, MappingTemplate, MappingTemplateVersion, Rollout
from mappings.rollouts import rollout_complete, rollout_preview, rollout_rollback, rollout_start
from portal.admin_logs import AppendOnlyAdminMixin
from portal.models import Location
from portal.scoping import agencies_for_user, locations_for_user, queryset_scope_agency


class LocationsForm(forms.Form):
    locations = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, label="Locations"
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["locations"].queryset = locations


@admin.register(MappingTemplate)
class MappingTemplateAdmin(admin.ModelAdmin):
    form = MappingTemplateForm
    list_display = ["name", "agency", "entity", "direction", "latest_version", "locations"]
    # Only the agencies of the templates the user sees: another agency's name is its business.
    list_filter = [("agency", admin.RelatedOnlyFieldListFilter), "entity", "direction"]
    list_select_related = ["agency"]
    search_fields = ["name", "agency__name"]
    change_form_template = "admin/mappings/mappingtemplate/change_form.html"
    fieldsets = [
        (None, {"fields": ["agency", "name", "entity", "direction", "operation_key"]}),
        ("Rules", {"fields": ["null_policy", "rules"]}),
    ]

    def get_queryset(self, request):
        return queryset_scope_agency(
            super().get_queryset(request), user=request.user, agency_path="agency"
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="version")
    def latest_version(self, obj):
        latest = obj.versions.order_by("-number").first()
        return latest.number if latest else "—"

    @admin.display(description="locations following")
    def locations(self, obj):
        return obj.mappings.count()

    def get_form(self, request, obj=None, change=False, **kwargs):
        from integrations.sync.fields import mapping_source_fields

        form = super().get_form(request, obj, change=change, **kwargs)
        editor_url = (
            reverse("admin:mappings_mappingtemplate_editor", args=[obj.pk])
            if obj
            else reverse("admin:mappings_mappingtemplate_editor_add")
        )
        return type(
            form.__name__,
            (form,),
            {
                "source_fields_provider": staticmethod(mapping_source_fields),
                "editor_url": editor_url,
            },
        )

    def save_model(self, request, obj, form, change):
        version = template_save(template=obj, user_id=request.user.pk)
        following = obj.mappings.exclude(template_version=version).count()
        if following:
            messages.info(
                request,
                f"Saved as template version {version.number}. {following} "
                "location(s) still run an older version: roll it out to reach them.",
            )

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(
                lambda request, *args, **kwargs: function(self, request, *args, **kwargs)
            )

        return [
            path(
                "editor/", view(admin_views.editor_view), name="mappings_mappingtemplate_editor_add"
            ),
            path(
                "<int:object_id>/editor/",
                view(admin_views.editor_view),
                name="mappings_mappingtemplate_editor",
            ),
            path(
                "<int:object_id>/attach/",
                self.admin_site.admin_view(self.attach_view),
                name="mappings_mappingtemplate_attach",
            ),
            path(
                "<int:object_id>/rollout/",
                self.admin_site.admin_view(self.rollout_view),
                name="mappings_mappingtemplate_rollout",
            ),
        ] + super().get_urls()

    def _template(self, request, object_id, *, change):
        template = self.get_object(request, str(object_id))
        if template is None:
            raise Http404("No such template.")
        allowed = self.has_change_permission if change else self.has_view_permission
        if not allowed(request, template):
            raise PermissionDenied
        return template

    def _context(self, request, template, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": template,
            "title": title,
            **extra,
        }

    def attach_view(self, request, object_id):
        template = self._template(request, object_id, change=True)
        candidates = (
            locations_for_user(request.user)
            .filter(agency=template.agency)
            .exclude(pk__in=template.mappings.values("location_id"))
        )
        form = LocationsForm(request.POST or None, locations=candidates)
        if request.method == "POST" and form.is_valid():
            try:
                count = template_attach(
                    template_id=template.pk,
                    user_id=request.user.pk,
                    location_ids=[loc.pk for loc in form.cleaned_data["locations"]],
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{count} location(s) now follow {template}.")
                return redirect(
                    reverse("admin:mappings_mappingtemplate_rollout", args=[template.pk])
                )
        return TemplateResponse(
            request,
            "admin/mappings/mappingtemplate/attach.html",
            self._context(request, template, f"Attach locations to {template}", form=form),
        )

    def rollout_view(self, request, object_id):
        template = self._template(request, object_id, change=request.method == "POST")
        latest = template.versions.order_by("-number").first()
        following = (
            Mapping.objects.filter(agency_template=template)
            .select_related("location", "template_version")
            .order_by("location__name")
        )
        staged = template.rollouts.filter(status=Rollout.Status.STAGED).first()
        behind = Location.objects.filter(
            pk__in=[m.location_id for m in following if not _runs(m, latest)]
        )
        form = LocationsForm(request.POST or None, locations=behind)
        preview = None
        action = request.POST.get("action")
        if request.method == "POST" and action in ("complete", "rollback"):
            rollout = template.rollouts.filter(pk=request.POST.get("rollout")).first()
            if rollout is None:
                raise Http404("No such rollout.")
            try:
                if action == "complete":
                    rollout_complete(rollout_id=rollout.pk, user_id=request.user.pk)
                    messages.success(
                        request,
                        f"Version {rollout.version.number} now runs at "
                        "every location following the template.",
                    )
                else:
                    rollout_rollback(rollout_id=rollout.pk, user_id=request.user.pk)
                    messages.success(
                        request, "Rolled back: every location runs the version it ran before."
                    )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        if request.method == "POST" and form.is_valid() and latest is not None:
            ids = [loc.pk for loc in form.cleaned_data["locations"]]
            if action == "stage":
                try:
                    rollout_start(
                        template_id=template.pk, location_ids=ids, user_id=request.user.pk
                    )
                except ValidationError as exc:
                    messages.error(request, " ".join(exc.messages))
                else:
                    messages.success(
                        request,
                        f"Version {latest.number} rolled out to "
                        f"{len(ids)} chosen location(s). Check them, then roll out "
                        "to all or roll back.",
                    )
                return redirect(request.path)
            preview = rollout_preview(
                template_id=template.pk, version_id=latest.pk, location_ids=ids, fetch=_fetch
            )
        context = self._context(
            request,
            template,
            f"Roll out {template}",
            latest=latest,
            following=following,
            staged=staged,
            form=form,
            preview=preview,
            behind=behind,
            behind_mappings=[m for m in following if not _runs(m, latest)],
            rollouts=template.rollouts.select_related("version", "created_by")[:10],
            can_change=self.has_change_permission(request, template),
            media=forms.Media(css={"all": ["admin/css/rules_editor.css"]}),
        )
        return TemplateResponse(request, "admin/mappings/mappingtemplate/rollout.html", context)


def _runs(mapping, latest):
    """Whether the mapping runs the latest template version (or one with the same rules)."""
    version = mapping.template_version
    if latest is None or version is None:
        return latest is None
    return version.pk == latest.pk or (
        (version.rules, version.null_policy) == (latest.rules, latest.null_policy)
    )


def _fetch(*, location_id, entity, operation_key):
    from integrations.sync.preview import preview_sample_fetch

    return preview_sample_fetch(
        location_id=location_id,
        entity=entity,
        direction="ghl_to_rankr",
        operation_key=operation_key,
    )


@admin.register(MappingTemplateVersion)
class MappingTemplateVersionAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["template", "number", "created_by", "created_at"]
    list_select_related = ["template", "created_by"]
    readonly_fields = ["template", "number", "null_policy", "rules", "created_by", "created_at"]
    fields = readonly_fields

    def get_queryset(self, request):
        return queryset_scope_agency(
            super().get_queryset(request), user=request.user, agency_path="template__agency"
        )


@admin.register(Rollout)
class RolloutAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["template", "version", "status", "created_by", "created_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["template", "version", "created_by"]
    readonly_fields = [
        "template",
        "version",
        "status",
        "staged_location_ids",
        "previous",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return queryset_scope_agency(
            super().get_queryset(request), user=request.user, agency_path="template__agency"
        )
