import json

from django import forms

from mappings.entities import ENTITIES, GHL_TO_RANKR
from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping, MappingTemplate
from mappings.rules import rules_check, rules_problems
from mappings.widgets import TABLE, RulesField


def target_choices(*, entity_key, direction):
    """(field, label) pairs a rule may target, labelled as the pages label them
    ("Custom field 1 (custom_1)"); None when any target goes (payload-only entity)."""
    entity = ENTITIES.get(entity_key)
    if entity is None:
        return []
    targets = entity.targets(direction)
    if targets is None:
        return None
    if direction == GHL_TO_RANKR:
        model = entity.rankr_model
        return [
            (name, f"{str(model._meta.get_field(name).verbose_name).capitalize()} ({name})")
            for name in targets
        ]
    return [(name, name) for name in targets]


class RulesFormMixin:
    """A model form with the rules table editor (mappings and agency templates)."""

    # Set by the admin: (entity, direction, operation_key, location_id, refresh) -> (choices, note)
    source_fields_provider = None
    editor_url = ""

    def __init__(self, *args, refresh_sources=False, **kwargs):
        super().__init__(*args, **kwargs)
        widget = self.fields["rules"].widget
        widget.editor_url = type(self).editor_url
        entity = self._current("entity")
        direction = self._current("direction")
        widget.targets = target_choices(entity_key=entity, direction=direction)
        provider = type(self).source_fields_provider
        if provider is not None and entity and direction:
            location_id = self._current("location")
            widget.sources, widget.source_note = provider(
                entity=entity,
                direction=direction,
                operation_key=self._current("operation_key"),
                location_id=int(location_id) if str(location_id or "").isdigit() else None,
                refresh=refresh_sources,
            )

    def _current(self, name):
        if name not in self.fields:
            return ""
        if self.is_bound:
            return self.data.get(self.add_prefix(name)) or ""
        value = self.initial.get(name)
        if value is None and self.instance is not None:
            value = getattr(self.instance, f"{name}_id" if name == "location" else name, "")
        return value or ""

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        return [] if rules is None else rules  # an emptied box means no rules

    def clean(self):
        data = super().clean()
        widget = self.fields["rules"].widget
        if widget.op:
            raise forms.ValidationError(
                "The rules table changed (row added, moved or removed) and is not saved yet: "
                "check it and press Save."
            )
        needed = ("entity", "direction", "null_policy", "rules")
        if any(name in self.errors for name in needed):
            return data
        self.rules_problems_set(data)
        return data

    def rules_problems_set(self, data):
        widget = self.fields["rules"].widget
        problems = rules_problems(
            entity_key=data.get("entity"),
            direction=data.get("direction"),
            null_policy=data.get("null_policy"),
            rules=data.get("rules"),
        )
        widget.problems = problems
        if problems and widget.mode != TABLE:
            self.add_error(
                "rules",
                rules_check(
                    entity_key=data.get("entity"),
                    direction=data.get("direction"),
                    null_policy=data.get("null_policy"),
                    rules=data.get("rules"),
                ),
            )
        elif problems:
            count = len({p.number for p in problems})
            self.add_error(
                "rules",
                (
                    f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in "
                    f"{count} rule{'s' if count > 1 else ''}: see the rows marked below."
                ),
            )


RULES_HELP = "One row per rule, applied top to bottom. The JSON view shows the same rules."


class MappingForm(RulesFormMixin, forms.ModelForm):
    rules = RulesField(label="Rules", required=False, help_text=RULES_HELP)

    class Meta:
        model = Mapping
        fields = [
            "location",
            "name",
            "entity",
            "direction",
            "operation_key",
            "null_policy",
            "rules",
        ]


class MappingTemplateForm(RulesFormMixin, forms.ModelForm):
    rules = RulesField(
        label="Rules",
        required=False,
        help_text=RULES_HELP
        + (" Saving makes a new template version; locations get it through a rollout."),
    )

    class Meta:
        model = MappingTemplate
        fields = ["agency", "name", "entity", "direction", "operation_key", "null_policy", "rules"]


def json_object_clean(text, *, what="sample"):
    text = (text or "").strip()
    if not text:
        raise forms.ValidationError(f"Paste a {what} record as a JSON object.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            f"That is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    if not isinstance(value, dict):
        raise forms.ValidationError(f"The {what} must be a JSON object ({{…}}).")
    return value


class PreviewForm(forms.Form):
    sample = forms.CharField(
        label="Sample record (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 80, "class": "vLargeTextField"}),
        help_text="A HighLevel record for HighLevel → Rankr, a Rankr record for Rankr → HighLevel.",
    )

    def clean_sample(self):
        return json_object_clean(self.cleaned_data["sample"])


class TemplateApplyForm(forms.Form):
    locations = forms.ModelMultipleChoiceField(
        queryset=None,
        label="Locations",
        widget=forms.CheckboxSelectMultiple,
        help_text="Every location chosen gets every template chosen.",
    )
    templates = forms.MultipleChoiceField(
        label="Templates",
        choices=lambda: [(key, t.title) for key, t in FLOW_TEMPLATES.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text="Templates a location already has a mapping for are left as they are.",
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["locations"].queryset = locations
