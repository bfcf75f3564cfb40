"""List filters for big tables: none of them scans the table to draw itself.

Django's default filters for a plain field list its distinct values (``SELECT DISTINCT`` over the
whole table) and a foreign-key filter lists every related row, which for locations would show a
staff member the names of locations they are not assigned to. These draw from fixed choices, the
user's own locations, or a text box.
"""

import re
from datetime import datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import BadRequest, FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portal.models import Agency, Location
from portal.scoping import locations_for_user


def _other_params(changelist, *names):
    """The changelist's current query parameters except ``names`` (and the page number)."""
    return [(k, v) for k, v in changelist.params.items() if k not in (*names, PAGE_VAR)]


class LocationFilter(admin.SimpleListFilter):
    """By location, offering only the locations the user may see."""

    title = "location"
    parameter_name = "location"
    location_path = "location"

    def lookups(self, request, model_admin):
        return [
            (str(loc.pk), str(loc)) for loc in locations_for_user(request.user).order_by("name")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            messages.error(request, f"Location filter {value!r} is not a location number; ignored.")
            return queryset
        return queryset.filter(**{f"{self.location_path}_id": int(value)})


class AgencyFilter(admin.SimpleListFilter):
    """By agency, offering only the agencies of the locations the user may see."""

    title = "agency"
    parameter_name = "agency"
    agency_path = "agency"

    def lookups(self, request, model_admin):
        agencies = Agency.objects.filter(locations__in=locations_for_user(request.user)).distinct()
        return [(str(a.pk), str(a)) for a in agencies.order_by("name")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(**{f"{self.agency_path}_id": int(value)})


def scoped_relation_filter(model, name):
    """A scoped filter for list_filter entry ``name`` when it is a foreign key to Location or
    Agency (Django's own would list every row of those tables); None otherwise."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a path such as "mapping__location": Django's filter stays
        return None
    target = getattr(field, "related_model", None)
    if not field.many_to_one or target not in (Location, Agency):
        return None
    base, path_attr = (
        (LocationFilter, "location_path") if target is Location else (AgencyFilter, "agency_path")
    )
    return type(
        f"Scoped_{name}",
        (base,),
        {"parameter_name": name, path_attr: name, "title": field.verbose_name},
    )


class TextFilter(admin.SimpleListFilter):
    """An exact-match text box (e.g. an operation id): no list of values to compute."""

    template = "admin/filters/text.html"
    field_path = None
    placeholder = ""

    def lookups(self, request, model_admin):
        return [("", "")]  # the box always shows

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        try:
            return queryset.filter(**{self.field_path: value})
        except (ValueError, ValidationError):
            messages.error(
                request, f"{self.title.capitalize()} {value!r} is not a valid value; ignored."
            )
            return queryset

    def choices(self, changelist):
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "hidden": _other_params(changelist, self.parameter_name),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


def text_filter(*, field_path, title, parameter_name, placeholder=""):
    return type(
        f"{parameter_name.title()}TextFilter",
        (TextFilter,),
        {
            "field_path": field_path,
            "title": title,
            "parameter_name": parameter_name,
            "placeholder": placeholder,
        },
    )


class ChoiceFilter(admin.SimpleListFilter):
    """Fixed choices, each a Q-like dict of lookups; nothing queried to draw the list."""

    options = {}  # value -> (label, lookups dict)

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.options.items()]

    def queryset(self, request, queryset):
        option = self.options.get(self.value() or "")
        return queryset.filter(**option[1]) if option else queryset


RELATIVE = re.compile(r"(\d{1,7})([mhd])")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def moment_parse(text, *, end=False):
    """'24h' / '7d' (ago), '2026-11-01' (midnight; with ``end`` the next midnight) or an ISO
    datetime -> an aware datetime. None when ``text`` is none of these."""
    text = (text or "").strip()
    try:
        match = RELATIVE.fullmatch(text)
        if match:
            return timezone.now() - timedelta(**{UNITS[match[2]]: int(match[1])})
        moment = parse_datetime(text) if "T" in text or " " in text else None
        if moment is None:
            day = parse_date(text) if len(text) == 10 else None
            if day is None:
                return None
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
    except (OverflowError, ValueError) as exc:  # 100000d ago, the day after 9999-12-31
        raise BadRequest(
            f"Time range: {text!r} is no real moment between the years 1 and 9999."
        ) from exc
    return moment


class TimeRangeFilter(admin.ListFilter):
    """``since`` / ``until`` on one timestamp field: presets (last hour…30 days) and a from/to box.

    Values are "24h"-style ages, dates or ISO datetimes; a bad value is reported and ignored.
    """

    title = "time range"
    template = "admin/filters/time_range.html"
    field_path = None
    presets = [
        ("1h", "Last hour"),
        ("24h", "Last 24 hours"),
        ("7d", "Last 7 days"),
        ("30d", "Last 30 days"),
    ]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.bounds = {}
        for name in ("since", "until"):
            if name in params:
                raw = params.pop(name)[-1]
                if not raw.strip():
                    continue  # an empty box in the form: no bound
                self.used_parameters[name] = raw
                moment = moment_parse(raw, end=name == "until")
                if moment is None and raw.strip():
                    messages.error(
                        request,
                        f"Time range: {name}={raw!r} is not a date (2026-11-01), a date "
                        "and time (2026-11-01T08:00) or an age (24h, 7d); it was ignored.",
                    )
                elif moment is not None:
                    self.bounds[name] = moment

    def has_output(self):
        return True

    def expected_parameters(self):
        return ["since", "until"]

    def queryset(self, request, queryset):
        if "since" in self.bounds:
            queryset = queryset.filter(**{f"{self.field_path}__gte": self.bounds["since"]})
        if "until" in self.bounds:
            queryset = queryset.filter(**{f"{self.field_path}__lt": self.bounds["until"]})
        return queryset

    def choices(self, changelist):
        current = self.used_parameters.get("since", "")
        yield {
            "presets": [
                {
                    "display": label,
                    "selected": current == value and "until" not in self.used_parameters,
                    "query_string": changelist.get_query_string({"since": value}, remove=["until"]),
                }
                for value, label in self.presets
            ],
            "any_url": changelist.get_query_string(remove=["since", "until"]),
            "any_selected": not self.used_parameters,
            "since": current,
            "until": self.used_parameters.get("until", ""),
            "hidden": _other_params(changelist, "since", "until"),
        }


def time_range_filter(field_path):
    return type(f"TimeRange_{field_path}", (TimeRangeFilter,), {"field_path": field_path})
