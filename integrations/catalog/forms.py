"""The *Run action* form, built from one operation's parameters and body schema.

The form only parses (JSON, choices); the spec decides what is valid, through the same
``call_prepare`` that ``operation_run`` uses, and its errors are put back on the fields.
"""

import json

from django import forms

from integrations.catalog.examples import schema_example

PARAM_PREFIX = "p_"
NO_CONNECTION = ""


def param_field_name(name):
    return PARAM_PREFIX + name


class OperationRunForm(forms.Form):
    connection = forms.ChoiceField(
        label="Connection",
        required=False,
        help_text="Only connections of locations you may see. Without one, only a dry run.",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        initial=True,
        help_text="Validate and show the exact request without sending it.",
    )

    def __init__(self, *args, operation, connection_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.operation = operation
        self.fields["connection"].choices = [(NO_CONNECTION, "— none (dry run only) —")] + [
            (str(pk), label) for pk, label in connection_choices
        ]
        for param in operation.form_params:
            self.fields[param_field_name(param.name)] = self._param_field(param)
        if operation.body_schema is not None:
            props = operation.body_schema.get("properties") or {}
            required = set(operation.body_schema.get("required") or [])
            listed = ", ".join(f"{n}{'*' if n in required else ''}" for n in props) or "free-form"
            self.fields["body"] = forms.CharField(
                label=f"Body ({operation.body_content_type})",
                required=False,
                widget=forms.Textarea(attrs={"rows": 14, "cols": 90, "class": "vLargeTextField"}),
                initial=json.dumps(schema_example(operation.body_schema), indent=2),
                help_text=f"JSON. Properties (* required): {listed}. The connection's location "
                "fills locationId/altId where the spec has them.",
            )

    @staticmethod
    def _param_field(param):
        schema = param.schema or {}
        label = f"{param.name} ({param.location}{', required' if param.required else ''})"
        help_text = param.description if param.description != param.name else ""
        choices = None
        if schema.get("enum"):
            choices = [(str(v), str(v)) for v in schema["enum"]]
        elif schema.get("type") == "boolean":
            choices = [("true", "true"), ("false", "false")]
        if choices is not None:
            return forms.ChoiceField(
                label=label, required=False, choices=[("", "—")] + choices, help_text=help_text
            )
        example = schema.get("example")
        return forms.CharField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.TextInput(attrs={"placeholder": "" if example is None else str(example)}),
        )

    def clean_body(self):
        text = (self.cleaned_data.get("body") or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def params(self):
        return {
            p.name: self.cleaned_data.get(param_field_name(p.name))
            for p in self.operation.form_params
            if self.cleaned_data.get(param_field_name(p.name)) not in (None, "")
        }

    def connection_id(self):
        value = self.cleaned_data.get("connection")
        return int(value) if value else None

    def errors_apply(self, errors):
        """Put the spec's field errors (param name, ``body``, ``body.x``) on the form's fields."""
        for name, messages in errors.items():
            if name == "body" or name.startswith("body."):
                field = "body" if "body" in self.fields else None
            else:
                field = param_field_name(name) if param_field_name(name) in self.fields else None
            for message in messages:
                self.add_error(field, message if field else f"{name}: {message}")
