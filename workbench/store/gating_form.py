"""The access form of a gated repo: the fields its card's ``extra_gated_fields`` asks for.

The card declares the fields as the public hub reads them, a name and a type (``text``,
``country``, ``date_picker``, ``checkbox``) or a mapping with ``type: select`` and its
``options``; every field must be answered, and a checkbox must be checked:

```yaml
extra_gated_fields:
  Company: text
  I agree to share my contact information: checkbox
  Use:
    type: select
    options: [Research, {label: Teaching, value: education}]
```

Answers may name a field exactly or by its keyword form (``company``,
``i_agree_to_share_my_contact_information``), so that notebook and CLI callers can pass them
as keyword arguments.

>>> form = gate_form({"extra_gated_fields": {"Company": "text", "I agree": "checkbox"}})
>>> check_answers(form, {"company": "ACME", "i_agree": "on"})
{'Company': 'ACME', 'I agree': True}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from workbench.errors import InvalidRequest

TYPES = ("text", "country", "date_picker", "checkbox", "select")
MAX_ANSWER_CHARS = 1000
MAX_FIELDS = 50
_CHECKED = {"true", "on", "yes", "1", "checked"}


@dataclass(frozen=True)
class GateField:
    name: str
    type: str  # one of TYPES
    options: tuple[str, ...] = ()  # the values a select accepts


def keyword(name: str) -> str:
    """A field name as a keyword argument: lower case, runs of other characters as ``_``.

    >>> keyword("I agree to the Terms (v2)")
    'i_agree_to_the_terms_v2'
    """
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _options(raw: object) -> tuple[str, ...]:
    out = []
    for option in raw if isinstance(raw, list) else []:
        if isinstance(option, dict):
            option = option.get("value", option.get("label"))
        if isinstance(option, (str, int, float)) and not isinstance(option, bool):
            out.append(str(option))
    return tuple(out)


def gate_form(card: dict[str, Any] | None) -> list[GateField]:
    """The fields ``card`` (a repo's card metadata) asks for; an unknown type reads as text."""
    raw = (card or {}).get("extra_gated_fields")
    if not isinstance(raw, dict):
        return []
    fields = []
    for name, spec in list(raw.items())[:MAX_FIELDS]:
        kind: object = spec
        options: tuple[str, ...] = ()
        if isinstance(spec, dict):
            kind, options = spec.get("type"), _options(spec.get("options"))
        kind = kind if isinstance(kind, str) and kind in TYPES else "text"
        if kind == "select" and not options:
            kind = "text"
        fields.append(GateField(str(name), str(kind), options))
    return fields


def _answer(f: GateField, value: object) -> str | bool:
    if f.type == "checkbox":
        if value is True or (isinstance(value, str) and value.strip().lower() in _CHECKED):
            return True
        raise InvalidRequest(f"{f.name!r} must be checked to ask for access.", code="InvalidField")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidRequest(f"{f.name!r} takes a text answer.", code="InvalidField")
    text = str(value).strip()
    if not text:
        raise InvalidRequest(f"{f.name!r} must be answered.", code="MissingField")
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidRequest(f"{f.name!r} takes at most {MAX_ANSWER_CHARS} characters.", code="InvalidField")
    if f.type == "date_picker":
        try:
            date.fromisoformat(text)
        except ValueError:
            raise InvalidRequest(f"{f.name!r} takes a date as YYYY-MM-DD.", code="InvalidField") from None
    if f.type == "select" and text not in f.options:
        raise InvalidRequest(f"{f.name!r} takes one of {', '.join(f.options)}.", code="InvalidField")
    return text


def check_answers(form: list[GateField], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers to ``form`` by field name; 400 for a missing, unknown or invalid one."""
    by_key = {keyword(f.name): f for f in form}
    given: dict[str, object] = {}
    for key, value in answers.items():
        f = next((f for f in form if f.name == key), None) or by_key.get(keyword(str(key)))
        if f is None:
            asked = ", ".join(repr(f.name) for f in form) or "no fields"
            raise InvalidRequest(
                f"This repo's access form has no field {key!r}; it asks for {asked}.", code="InvalidField"
            )
        given[f.name] = value
    missing = [f.name for f in form if f.name not in given or given[f.name] in (None, "")]
    if missing:
        raise InvalidRequest(
            "Answer every field of the access form; missing: " + ", ".join(repr(n) for n in missing) + ".",
            code="MissingField",
        )
    return {f.name: _answer(f, given[f.name]) for f in form}
