"""The forms of a page as a browser sees them: where each posts, and its fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Inputs a person types into (or a page fills in) as text; the rest are choices.
TYPED = {"text", "email", "password", "search", "date", "tel", "url", "number", "hidden"}


@dataclass
class Field:
    name: str
    kind: str  # an input's type, "textarea" or "select"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def typed(self) -> list[str]:
        """The names of the fields typed into (CSRF token aside), in page order, once each."""
        names = [f.name for f in self.fields if f.kind in TYPED | {"textarea"}]
        return list(dict.fromkeys(n for n in names if n != "csrf_token"))

    def values(self) -> list[tuple[str, str]]:
        """What the form sends as it stands: hidden and typed values, checked boxes and
        radios, each select's first option."""
        sent = []
        for f in self.fields:
            if f.kind in {"checkbox", "radio"}:
                if f.checked:
                    sent.append((f.name, f.value))
            elif f.kind == "select":
                if f.options:
                    sent.append((f.name, f.value or f.options[0]))
            elif f.kind != "submit":
                sent.append((f.name, f.value))
        return sent


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms or "name" not in a or "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            self.forms[-1].fields.append(Field(a["name"], kind, a.get("value", ""), "checked" in a))
        elif tag == "textarea":
            self.forms[-1].fields.append(Field(a["name"], "textarea"))
        elif tag == "select":
            self._select = Field(a["name"], "select")
            self.forms[-1].fields.append(self._select)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms
