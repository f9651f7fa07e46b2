"""What a browser would submit for an admin page's form: its fields as rendered, read from the HTML."""

from __future__ import annotations

from html.parser import HTMLParser

SKIPPED_INPUTS = {"submit", "button", "image", "file", "reset"}


class _FormFields(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: tuple[str, list[str], bool] | None = None  # name, first option, chosen or multiple
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in SKIPPED_INPUTS or kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select = (a["name"], [], "multiple" in a)  # a multiple select sends nothing by default
        elif tag == "option" and self._select is not None:
            name, first, chosen = self._select
            value = a.get("value", "")
            if not first:
                first.append(value)
            if "selected" in a:
                self.fields.append((name, value))
                self._select = (name, first, True)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, first, chosen = self._select
            if not chosen and first:
                self.fields.append((name, first[0]))
            self._select = None


def rendered_form(html: str, form_id: str) -> dict[str, list[str]]:
    """The fields of ``<form id=form_id>`` with the values the page shows (multi-valued fields as lists).
    Inline formsets' empty templates (``__prefix__``) are left out, as a browser would not send them."""
    parser = _FormFields(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        if "__prefix__" not in name:
            data.setdefault(name, []).append(value)
    return data
