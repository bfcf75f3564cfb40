"""JSON-schema work on resolved spec schemas: validate, sample a valid instance, fit data to one.

``sample`` builds a minimal valid instance (the schema's own example when that example is valid);
``fit`` keeps the sandbox's stored data wherever it already validates and fills or replaces only
what the schema demands, so every answer validates even where the stored data is richer or older
than the spec.
"""

import copy

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from sandbox.spec.fast import fast_is_valid

MAX_DEPTH = 12
_validators: dict[int, tuple[dict, OAS30Validator]] = {}


_PY_TYPES = {"number": (int, float), "integer": (int,), "string": (str,), "boolean": (bool,)}


def clean(schema):
    """Make a spec schema satisfiable; each repair is a defect listed in specs/highlevel/DEFECTS.md.

    - ``type: any`` does not exist in OpenAPI 3.0: the type is dropped (anything goes).
    - an ``enum`` nested in a list (``enum: [["US", "CA", ...]]``) is flattened;
    - an ``enum`` whose values contradict its ``type`` (country codes typed number): the enum wins.
    - an array whose items are arrays without ``items`` (``POST /locations/{locationId}/tasks/
      search``'s ``tasks``): any items (HighLevel answers the task objects).
    - ``type: object`` without properties whose example is a plain string (calendar events'
      ``startTime``, ``endTime``, ``dateAdded``, ``dateUpdated``, association labels): the type is
      dropped; an example written as an object literal (``"{ id: ... }"``) keeps the object.
    """
    if isinstance(schema, dict):
        out = {k: clean(v) for k, v in schema.items() if not (k == "type" and v == "any")}
        if (
            isinstance(out.get("enum"), list)
            and len(out["enum"]) == 1
            and isinstance(out["enum"][0], list)
        ):
            out["enum"] = out["enum"][0]
        items = out.get("items")
        if (
            out.get("type") == "array"
            and isinstance(items, dict)
            and items.get("type") == "array"
            and "items" not in items
        ):
            out["items"] = {}  # an array of untyped arrays: HighLevel answers objects there
        if (
            out.get("type") == "object"
            and "properties" not in out
            and isinstance(out.get("example"), str)
            and not out["example"].lstrip().startswith("{")
        ):
            # "object" with a plain string example (a date-time, a label): HighLevel answers the
            # string. An example written as an object literal ("{ id: ... }") stays an object.
            del out["type"]
        kind, enum = out.get("type"), out.get("enum")
        if (
            enum
            and kind in _PY_TYPES
            and not all(
                isinstance(v, _PY_TYPES[kind]) and not (kind != "boolean" and isinstance(v, bool))
                for v in enum
                if v is not None
            )
        ):
            del out["type"]
        return out
    if isinstance(schema, list):
        return [clean(v) for v in schema]
    return schema


def validator(schema: dict) -> OAS30Validator:
    key = id(schema)
    hit = _validators.get(key)
    if hit is None or hit[0] is not schema:
        hit = (schema, OAS30Validator(schema))
        _validators[key] = hit
    return hit[1]


_example_validators: dict[int, tuple[dict, OAS30Validator]] = {}


def example_ok(schema: dict, value) -> bool:
    """Examples must also honour ``format`` (the specs show dates like '10/28/2022, 6:24 PM')."""
    hit = _example_validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, OAS30Validator(schema, format_checker=oas30_format_checker))
        _example_validators[id(schema)] = hit
    return hit[1].is_valid(value)


def is_valid(schema: dict, instance) -> bool:
    """The hot-path check (compiled); ``oas_is_valid`` is the reference implementation."""
    return fast_is_valid(schema, instance)


def oas_is_valid(schema: dict, instance) -> bool:
    return validator(schema).is_valid(instance)


def errors(schema: dict, instance, *, prefix: str = "") -> list[str]:
    """Readable messages in the style of HighLevel's class-validator answers."""
    if fast_is_valid(schema, instance):
        return []
    out = []
    for err in sorted(validator(schema).iter_errors(instance), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in err.path)
        name = (prefix + ("." if prefix and where else "") + where) or prefix or "body"
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            out.append(f"{(name + '.') if name != 'body' else ''}{missing} should not be empty")
        elif err.validator == "type":
            out.append(f"{name} must be a {err.validator_value}")
        elif err.validator == "enum":
            out.append(
                f"{name} must be one of the following values: {', '.join(map(str, err.validator_value))}"
            )
        else:
            out.append(f"{name}: {err.message}")
    return out


_STRING_BY_FORMAT = {
    "date-time": "2024-01-01T00:00:00.000Z",
    "date": "2024-01-01",
    "email": "john@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _merge_all_of(schema: dict) -> dict:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    props, required = dict(merged.get("properties", {})), list(merged.get("required", []))
    for raw in schema["allOf"]:
        part = _merge_all_of(raw) if "allOf" in raw else raw
        props.update(part.get("properties", {}))
        required += part.get("required", [])
        for k, v in part.items():
            merged.setdefault(k, v)
    if props:
        merged["properties"] = props
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged


def sample(schema: dict, *, depth: int = 0, use_examples: bool = True, minimal: bool = False):
    """A valid instance of ``schema``: its example if valid, else one built from its structure.

    ``minimal`` keeps only required properties and empty arrays: the last resort where the spec
    contradicts itself deeper down (an enum of strings typed number, an ambiguous oneOf).
    """
    if not isinstance(schema, dict) or not schema:
        return {}
    if use_examples:
        for key in ("example", "default"):
            if key in schema and example_ok(schema, schema[key]):
                return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    if "allOf" in schema:
        return sample(
            _merge_all_of(schema), depth=depth, use_examples=use_examples, minimal=minimal
        )
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return sample(schema[key][0], depth=depth, use_examples=use_examples, minimal=minimal)
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind == "object":
        out = {}
        props = schema.get("properties", {})
        required = schema.get("required", [])
        names = list(props) if not minimal and depth < MAX_DEPTH else []
        names += [n for n in required if n not in names]
        for name in names:
            out[name] = sample(
                props.get(name, {"type": "string"}),
                depth=depth + 1,
                use_examples=use_examples,
                minimal=minimal,
            )
        return out
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if depth < MAX_DEPTH and not minimal else 0)
        return [
            sample(
                schema.get("items", {}), depth=depth + 1, use_examples=use_examples, minimal=minimal
            )
            for _ in range(count)
        ]
    if kind == "string":
        value = _STRING_BY_FORMAT.get(schema.get("format", ""), "string")
        return value.ljust(schema.get("minLength", 0), "x")
    if kind in ("number", "integer"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "string"


def sample_valid(schema: dict):
    """``sample`` with a fallback that ignores the spec's examples when they contradict it."""
    value = sample(schema)
    if is_valid(schema, value):
        return value
    value = sample(schema, use_examples=False)
    if is_valid(schema, value):
        return value
    return sample(schema, use_examples=False, minimal=True)


def fit(schema: dict, data, *, depth: int = 0):
    """``data`` changed as little as needed to validate against ``schema``."""
    if not isinstance(schema, dict) or not schema or is_valid(schema, data):
        return data
    if "allOf" in schema:
        return fit(_merge_all_of(schema), data, depth=depth)
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, ()):
            candidate = fit(branch, data, depth=depth + 1)
            if is_valid(schema, candidate):
                return candidate
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind == "object" and isinstance(data, dict) and depth < MAX_DEPTH:
        props = schema.get("properties", {})
        out = dict(data)
        if schema.get("additionalProperties") is False:
            out = {k: v for k, v in out.items() if k in props}
        for name, sub in props.items():
            if name in out:
                out[name] = fit(sub, out[name], depth=depth + 1)
        for name in schema.get("required", []):
            if name not in out:
                out[name] = sample_valid(props.get(name, {}))
        return out
    if kind == "array" and isinstance(data, list) and depth < MAX_DEPTH:
        items = schema.get("items", {})
        return [fit(items, item, depth=depth + 1) for item in data]
    if data is None and schema.get("nullable"):
        return None
    return sample_valid(schema)


_fitted_items: dict[tuple, object] = {}
_ITEM_CACHE_MAX = 100_000
_UNCHANGED = object()


def fit_item(schema: dict, item):
    """``fit`` for one stored resource in a list, remembered by (schema, id, dateUpdated).

    A stored resource only changes with its ``dateUpdated``, so a page of 100 contacts costs
    100 dict lookups after the first time, not 100 schema walks.
    """
    if not isinstance(item, dict) or "id" not in item or "dateUpdated" not in item:
        return fit(schema, item)
    key = (id(schema), item["id"], item["dateUpdated"], len(item))
    hit = _fitted_items.get(key)
    if hit is None:
        fitted = fit(schema, item)
        if len(_fitted_items) >= _ITEM_CACHE_MAX:
            _fitted_items.clear()
        _fitted_items[key] = hit = _UNCHANGED if fitted is item else fitted
    return item if hit is _UNCHANGED else hit
