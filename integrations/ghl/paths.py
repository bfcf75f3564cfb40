"""Request paths that stay where they were aimed.

A path parameter of ``..`` or ``.`` would be removed by urllib3's normalisation, so
``DELETE /locations/{id}/customFields/..`` would go out as ``DELETE /locations/{id}``: past the
checks made for the operation, and under its name in the audit trail. The door refuses such paths
before sending anything; the catalog encodes every parameter and checks the result against the
operation's template.
"""

import functools
import re
from urllib.parse import unquote

DOT_SEGMENTS = (".", "..")


def path_problem(path: str) -> str | None:
    """Why ``path`` (a query string after ``?`` allowed) may not be sent, or None."""
    path = path.split("?", 1)[0]
    if not path.startswith("/") or path.startswith("//"):
        return f"The request path {path!r} must start with a single '/'."
    if any(ch in path for ch in "#\\") or re.search(r"[\x00-\x20\x7f]", path):
        return f"The request path {path!r} holds a character that must be encoded."
    segments = path.split("/")[1:]
    for position, segment in enumerate(segments):
        decoded = unquote(segment)
        if decoded in DOT_SEGMENTS or segment in DOT_SEGMENTS:
            return f"The request path {path!r} holds a dot segment ({segment!r}); nothing was sent."
        if segment == "" and position != len(segments) - 1:
            return f"The request path {path!r} holds an empty segment; nothing was sent."
    return None


@functools.lru_cache(maxsize=2048)
def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/?#]+", re.escape(template)))


def path_matches_template(*, template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` with each ``{name}`` filled by exactly one segment."""
    return _template_pattern(template).fullmatch(path) is not None and path_problem(path) is None


# Path parameters that name where a request goes, not which record it is about.
_PLACE_PARAMS = {"locationid", "companyid", "altid", "alttype"}


def path_record_ids(*, template: str, path: str) -> tuple[str, ...]:
    """The ids ``path`` fills into ``template``'s ``{name}`` segments, but the location's or
    company's: the records a request is about, kept in its sync-log row."""
    names: list[str] = []

    def group(match: re.Match[str]) -> str:
        names.append(match[1])
        return f"(?P<p{len(names) - 1}>[^/?#]+)"

    pattern = re.sub(r"\\\{([^}]*)\\\}", group, re.escape(template))
    found = re.fullmatch(pattern, path.split("?", 1)[0])
    if found is None:
        return ()
    return tuple(
        unquote(found[f"p{n}"])
        for n, name in enumerate(names)
        if name.lower().replace("_", "") not in _PLACE_PARAMS
    )
