import json

from django import forms

from mappings.flow_templates import FLOW_TEMPLATES
from mappings.models import Mapping
from mappings.services import mapping_check


class MappingForm(forms.ModelForm):
    class Meta:
        model = Mapping
        fields = ["location", "name", "entity", "direction", "operation_key", "null_policy", "rules"]
        widgets = {"rules": forms.Textarea(attrs={"rows": 20, "cols": 100, "class": "vLargeTextField"})}

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        return [] if rules is None else rules  # an emptied box means no rules

    def clean(self):
        data = super().clean()
        needed = ("entity", "direction", "null_policy", "rules")
        if any(name in self.errors for name in needed):
            return data
        problems = mapping_check(
            entity=data.get("entity"),
            direction=data.get("direction"),
            null_policy=data.get("null_policy"),
            rules=data.get("rules"),
        )
        if problems:
            self.add_error("rules", problems)
        return data


class PreviewForm(forms.Form):
    sample = forms.CharField(
        label="Sample record (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 80, "class": "vLargeTextField"}),
        help_text="A HighLevel record for HighLevel → Rankr, a Rankr record for Rankr → HighLevel.",
    )

    def clean_sample(self):
        text = self.cleaned_data["sample"].strip()
        if not text:
            raise forms.ValidationError("Paste a sample record as a JSON object.")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"That is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The sample must be a JSON object ({…}).")
        return value


class TemplateApplyForm(forms.Form):
    location = forms.ModelChoiceField(queryset=None, label="Location")
    templates = forms.MultipleChoiceField(
        label="Templates",
        choices=lambda: [(key, t.title) for key, t in FLOW_TEMPLATES.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text="Templates the location already has a mapping for are left as they are.",
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations
