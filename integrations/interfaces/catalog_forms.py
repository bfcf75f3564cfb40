"""The *Run action* form, built from one operation's parameters and body schema.

One field per parameter (``p_<name>``) and per top-level scalar body property (``b_<name>``);
nested body properties go in a JSON box. The form only parses (JSON, choices); the spec decides
what is valid, through the same ``call_prepare`` that ``operation_run`` uses, and its errors are
put back on the fields they concern.
"""

import json

from django import forms

from integrations.catalog.calls import binary_fields, param_coerce
from integrations.catalog.examples import schema_example
from integrations.ghl.uploads import UploadFile

PARAM_PREFIX = "p_"
BODY_PREFIX = "b_"
NO_CONNECTION = ""
SCALAR_TYPES = ("string", "number", "integer", "boolean")


def param_field_name(name):
    return PARAM_PREFIX + name


def body_field_name(name):
    return BODY_PREFIX + name


def is_scalar(schema):
    return (
        schema.get("type") in SCALAR_TYPES
        and not any(k in schema for k in ("properties", "items", "oneOf", "anyOf", "allOf"))
        and all(not isinstance(v, (list, dict)) for v in schema.get("enum") or [])
    )


def value_field(*, label, schema, help_text=""):
    """A text or choice field for one scalar value; never required here (the spec decides)."""
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


def file_field_name(name):
    return f"file__{name}"


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

    def __init__(self, *args, operation, connection_choices=(), may_send=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.operation = operation
        self.may_send = may_send
        if not may_send:
            # Only a dry run is possible: no choice the user could not submit.
            del self.fields["dry_run"]
        elif operation.method == "DELETE" or operation.privilege.destructive:
            self.fields["confirm"] = forms.BooleanField(
                label="I understand this deletes data in HighLevel",
                required=False,
                help_text="Needed to send this request for real (not for a dry run).",
            )
        self.fields["connection"].choices = [(NO_CONNECTION, "— none (dry run only) —")] + [
            (str(pk), label) for pk, label in connection_choices
        ]
        for param in operation.form_params:
            label = f"{param.name} ({param.location}{', required' if param.required else ''})"
            help_text = param.description if param.description != param.name else ""
            self.fields[param_field_name(param.name)] = value_field(
                label=label, schema=param.schema or {}, help_text=help_text
            )
        self.body_scalars = {}
        self.body_files = []
        if operation.body_schema is not None:
            self._body_fields(operation.body_schema)

    def _body_fields(self, schema):
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        self.body_files = binary_fields(self.operation)
        for name in self.body_files:  # multipart/form-data: a real file input per file field
            self.fields[file_field_name(name)] = forms.FileField(
                label=f"{name} (file to upload)",
                required=False,
                help_text="Sent as a multipart/form-data file part.",
            )
        props = {n: s for n, s in props.items() if n not in self.body_files}
        self.body_scalars = {n: s for n, s in props.items() if is_scalar(s)}
        for name, prop in self.body_scalars.items():
            label = f"{name} (body{', required' if name in required else ''})"
            self.fields[body_field_name(name)] = value_field(
                label=label, schema=prop, help_text=prop.get("description", "")
            )
        nested = [n for n in props if n not in self.body_scalars]
        start = (
            {n: schema_example(props[n]) for n in nested if n in required}
            if props
            else schema_example(schema)
        )
        listed = ", ".join(f"{n}{'*' if n in required else ''}" for n in nested)
        self.fields["body"] = forms.CharField(
            label="Other body properties (JSON)"
            if self.body_scalars
            else f"Body ({self.operation.body_content_type})",
            required=False,
            widget=forms.Textarea(attrs={"rows": 10, "cols": 90, "class": "vLargeTextField"}),
            initial=json.dumps(start, indent=2) if start else "",
            help_text=(
                f"JSON object. Properties here (* required): {listed}. " if listed else "JSON. "
            )
            + "The connection fills locationId/altId/companyId where the spec has them "
            "and refuses any other location or agency.",
        )

    def clean_body(self):
        text = (self.cleaned_data.get("body") or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def clean(self):
        cleaned = super().clean()
        if not self.may_send:
            cleaned["dry_run"] = True
        if "confirm" in self.fields and not cleaned.get("dry_run") and not cleaned.get("confirm"):
            self.add_error(
                "confirm", "This request deletes data in HighLevel: tick the box to send it."
            )
        if "body" not in self.fields or "body" not in cleaned:
            return cleaned
        body = cleaned["body"]
        given = {
            name: param_coerce(cleaned[body_field_name(name)], schema)
            for name, schema in self.body_scalars.items()
            if cleaned.get(body_field_name(name)) not in (None, "")
        }
        for name in getattr(self, "body_files", ()):
            chosen = cleaned.get(file_field_name(name))
            if chosen:
                given[name] = UploadFile(
                    name=chosen.name,
                    content=chosen.read(),
                    content_type=chosen.content_type or "application/octet-stream",
                )
        if given:
            if body is not None and not isinstance(body, dict):
                self.add_error("body", "Must be a JSON object to combine with the fields above.")
                return cleaned
            body = {**(body or {}), **given}
        cleaned["body_value"] = body
        return cleaned

    def params(self):
        return {
            p.name: self.cleaned_data.get(param_field_name(p.name))
            for p in self.operation.form_params
            if self.cleaned_data.get(param_field_name(p.name)) not in (None, "")
        }

    def body(self):
        return self.cleaned_data.get("body_value")

    def connection_id(self):
        value = self.cleaned_data.get("connection")
        return int(value) if value else None

    def errors_apply(self, errors):
        """Put the spec's field errors (param name, ``body``, ``body.x``) on the form's fields."""
        for name, messages in errors.items():
            prop = name.partition(".")[2] if name.startswith("body.") else ""
            if prop and body_field_name(prop) in self.fields:
                field = body_field_name(prop)
            elif name == "body" or prop:
                field = "body" if "body" in self.fields else None
            else:
                field = param_field_name(name) if param_field_name(name) in self.fields else None
            for message in messages:
                self.add_error(field, message if field else f"{name}: {message}")
