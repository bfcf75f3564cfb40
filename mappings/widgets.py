"""The rules field of the mapping form: the table editor, with the JSON as its advanced view."""

import json

from django import forms

from mappings.editor import (
    editor_op,
    editor_rows_with_problems,
    editor_rules_from_post,
    json_error_text,
)
from mappings.rules import NULL_POLICIES
from mappings.transforms import TRANSFORMS

TABLE = "table"
JSON = "json"


class RulesEditorWidget(forms.Widget):
    """Renders the rules as a table (one row per rule) and as JSON; reads back whichever the
    person used (``rules-mode``). Row operations (``rules-op``: add, delete:i, up:i, down:i,
    mode:json, mode:table) are applied when the data is read."""

    template_name = "admin/mappings/mapping/rules_editor.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.mode = TABLE
        self.problems = []
        self.targets = None  # [(value, label)] or None for free text
        self.sources = []  # [(value, label)]
        self.source_note = ""
        self.editor_url = ""
        self.op = ""

    def value_from_datadict(self, data, files, name):
        mode = data.get(f"{name}-mode") or (TABLE if f"{name}-count" in data else JSON)
        self.op = data.get(f"{name}-op", "")
        if mode == JSON:
            text = data.get(name)
            if self.op == f"mode:{TABLE}" and not json_error_text(text or "null"):
                value = json.loads(text or "[]")
                self.mode = TABLE if isinstance(value, list) or value is None else JSON
            else:
                self.mode = JSON
            return text
        rules = editor_op(editor_rules_from_post(data, prefix=name), self.op)
        self.mode = JSON if self.op == f"mode:{JSON}" else TABLE
        return json.dumps(rules, ensure_ascii=False)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}-count" not in data

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        text = value if isinstance(value, str) else json.dumps(value or [], ensure_ascii=False)
        syntax = json_error_text(text) if text else ""
        rules = None
        if not syntax:
            parsed = json.loads(text or "[]")
            rules = [] if parsed is None else parsed if isinstance(parsed, list) else None
        mode = self.mode if rules is not None else JSON
        pretty = json.dumps(rules, indent=2, ensure_ascii=False) if rules is not None else text
        targets = list(self.targets) if self.targets is not None else None
        rows = editor_rows_with_problems(rules or [], self.problems)
        if targets is not None:
            known = {value for value, _ in targets}
            targets += [
                (row.target, f"{row.target} (unknown)")
                for row in rows
                if row.target and row.target not in known
            ]
        context["widget"]["editor"] = {
            "name": name,
            "mode": mode,
            "rows": rows,
            "json": pretty,
            "syntax_error": syntax,
            "targets": targets,
            "sources": self.sources,
            "source_note": self.source_note,
            "transforms": [(key, t.help) for key, t in TRANSFORMS.items()],
            "null_choices": [("", "Mapping's policy"), *NULL_POLICIES],
            "editor_url": self.editor_url,
            "list_problems": [p.message for p in self.problems if p.number == 0],
        }
        return context

    class Media:
        js = ["admin/js/rules_editor.js"]
        css = {"all": ["admin/css/rules_editor.css"]}


class RulesField(forms.JSONField):
    """A JSON list of rules whose syntax errors say where they are."""

    widget = RulesEditorWidget

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            problem = json_error_text(value)
            if problem:
                raise forms.ValidationError(problem, code="invalid")
        return super().to_python(value)
