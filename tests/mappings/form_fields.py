"""Read a rendered form's fields back as a browser would submit them (for editor round trips)."""

from html.parser import HTMLParser


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data = {}
        self._select = None
        self._select_value = None
        self._first_option = None
        self._option = None
        self._textarea = None
        self._text = []

    def _put(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type", "text") in ("text", "hidden"):
            self._put(a["name"], a.get("value") or "")
        elif tag == "select":
            self._select, self._select_value, self._first_option = a.get("name"), None, None
        elif tag == "option" and self._select:
            self._option = a
            self._text = []
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            value = self._option.get("value", "".join(self._text))
            if self._first_option is None:
                self._first_option = value
            if "selected" in self._option:
                self._select_value = value
            self._option = None
        elif tag == "select" and self._select:
            chosen = self._select_value if self._select_value is not None else self._first_option
            self._put(self._select, chosen or "")
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._put(self._textarea, "".join(self._text).removeprefix("\n"))
            self._textarea = None


def form_fields(html):
    """{name: value} of the text inputs, hidden inputs, selects and textareas in ``html``."""
    parser = _Fields()
    parser.feed(html)
    return {name: values[-1] for name, values in parser.data.items()}
