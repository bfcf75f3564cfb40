"""The mapping admin's own pages: the editor's re-render, preview of unsaved rules, version
diff and restore. Thin: each loads what it needs, checks permission, calls a service."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations.sync.preview import PreviewSampleUnavailable, preview_rules, preview_sample_fetch
from mappings.editor import json_error_text
from mappings.forms import json_object_clean
from mappings.models import MappingVersion
from mappings.versions import mapping_version_restore, mapping_versions_diff
from portal.models import Location

FETCHED = "fetched"


def _mapping_or_none(model_admin, request, object_id, *, change):
    if object_id is None:
        if not model_admin.has_add_permission(request):
            raise PermissionDenied
        return None
    mapping = model_admin.get_object(request, str(object_id))
    if mapping is None:
        raise Http404("No such mapping.")
    allowed = model_admin.has_change_permission if change else model_admin.has_view_permission
    if not allowed(request, mapping):
        raise PermissionDenied
    return mapping


def _bound_form(model_admin, request, mapping, **kwargs):
    form_class = model_admin.get_form(request, mapping, change=mapping is not None)
    return form_class(request.POST, request.FILES, instance=mapping, **kwargs)


def editor_view(model_admin, request, object_id=None):
    """The rules editor re-rendered from the posted form (a row added, moved, removed; a
    transform picked; table/JSON switched). Saves nothing."""
    if request.method != "POST":
        return HttpResponse(status=405)
    mapping = _mapping_or_none(model_admin, request, object_id, change=True)
    refresh = request.POST.get("rules-op") == "refresh-fields"
    form = _bound_form(model_admin, request, mapping, refresh_sources=refresh)
    form.is_valid()
    form.fields["rules"].widget.problems = []
    return HttpResponse(str(form["rules"]))


def preview_unsaved_view(model_admin, request, object_id=None):
    """Preview the rules as they are in the form (not saved) against a fetched record or the
    pasted JSON: before and after side by side, each rule's outcome."""
    if request.method != "POST":
        return redirect(
            reverse("admin:mappings_mapping_preview", args=[object_id])
            if object_id
            else reverse("admin:mappings_mapping_changelist")
        )
    mapping = _mapping_or_none(model_admin, request, object_id, change=False)
    form = _bound_form(model_admin, request, mapping)
    form.is_valid()
    result, error = None, ""
    data = dict(getattr(form, "cleaned_data", {}))
    rules = form.fields["rules"].bound_data(form["rules"].data, None)
    if isinstance(rules, str):
        error = json_error_text(rules) or "The rules must be a JSON list."
    data["rules"] = rules
    missing = [
        str(form.fields[name].label)
        for name in ("location", "entity", "direction", "null_policy")
        if name not in data
    ]
    if missing and not error:
        error = f"Fill in {', '.join(missing)} before previewing."
    if not error:
        location = data["location"]
        try:
            if request.POST.get("_preview") == FETCHED:
                sample = preview_sample_fetch(
                    location_id=location.pk,
                    entity=data["entity"],
                    direction=data["direction"],
                    operation_key=data.get("operation_key", ""),
                )
            else:
                sample = json_object_clean(request.POST.get("preview_sample"))
        except (PreviewSampleUnavailable, forms.ValidationError) as exc:
            error = " ".join(getattr(exc, "messages", [str(exc)]))
        else:
            result = preview_rules(
                entity=data["entity"],
                direction=data["direction"],
                null_policy=data["null_policy"],
                rules=data["rules"],
                sample=sample,
                time_zone=Location.objects.get(pk=location.pk).time_zone,
            )
    context = {"result": result, "error": error, "source": request.POST.get("_preview")}
    html = render_to_string("admin/mappings/mapping/preview_result.html", context, request)
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return HttpResponse(html)
    page = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": mapping,
        "title": "Preview of unsaved rules",
        "fragment": html,
    }
    return TemplateResponse(request, "admin/mappings/mapping/preview_unsaved.html", page)


def versions_view(model_admin, request, object_id):
    """Compare any two versions of a mapping; restore one (as a new version)."""
    mapping = _mapping_or_none(model_admin, request, object_id, change=False)
    versions = list(
        MappingVersion.objects.filter(mapping=mapping)
        .order_by("-number")
        .select_related("created_by")
    )
    can_restore = model_admin.has_change_permission(request, mapping)
    if request.method == "POST":
        if not can_restore:
            raise PermissionDenied
        try:
            number = int(request.POST.get("restore", ""))
            new = mapping_version_restore(
                mapping_id=mapping.pk, number=number, user_id=request.user.pk
            )
        except (ValueError, MappingVersion.DoesNotExist):
            messages.error(request, "No such version to restore.")
        else:
            messages.success(request, f"Version {number} restored as version {new.number}.")
        return redirect(reverse("admin:mappings_mapping_versions", args=[mapping.pk]))
    numbers = [v.number for v in versions]
    diff, error = [], ""
    old = _int(request.GET.get("old"), numbers[1] if len(numbers) > 1 else None)
    new = _int(request.GET.get("new"), numbers[0] if numbers else None)
    if old is not None and new is not None:
        try:
            diff = mapping_versions_diff(mapping_id=mapping.pk, old_number=old, new_number=new)
        except MappingVersion.DoesNotExist:
            error = "Pick two versions of this mapping."
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": mapping,
        "title": f"Versions of {mapping}",
        "versions": versions,
        "old": old,
        "new": new,
        "diff": diff,
        "error": error,
        "can_restore": can_restore,
        "media": forms.Media(css={"all": ["admin/css/rules_editor.css"]}),
    }
    return TemplateResponse(request, "admin/mappings/mapping/versions.html", context)


def _int(text, fallback):
    try:
        return int(text)
    except (TypeError, ValueError):
        return fallback
