"""Changes between two metadata mappings (card front matter, safetensors ``__metadata__``,
notebook and cell metadata), as fields: nested mappings flattened to dotted names.

>>> field_changes({"a": {"b": 1}}, {"a": {"b": 2}})
[{'field': 'a.b', 'change': 'changed', 'old': 1, 'new': 2}]
"""

from __future__ import annotations

import math
from typing import Any


def finite(x: float | None) -> float | str | None:
    return x if x is None or math.isfinite(x) else str(x)


def _flat(meta: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out |= _flat(value, name + ".")
        else:
            out[name] = value
    return out


def _plain(value: Any) -> Any:
    """A YAML value as JSON can carry it (dates and other scalars as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return finite(value)
    return str(value)


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Metadata fields (nested mappings as dotted names) added, removed or changed.

    >>> field_changes({"license": "mit"}, {"license": "apache-2.0"})
    [{'field': 'license', 'change': 'changed', 'old': 'mit', 'new': 'apache-2.0'}]
    """
    a, b = _flat(old), _flat(new)
    out: list[dict[str, Any]] = []
    for name in sorted(set(a) | set(b), key=lambda k: (k not in a, k)):
        if name not in b:
            out.append({"field": name, "change": "removed", "old": _plain(a[name])})
        elif name not in a:
            out.append({"field": name, "change": "added", "new": _plain(b[name])})
        elif a[name] != b[name]:
            out.append({"field": name, "change": "changed", "old": _plain(a[name]), "new": _plain(b[name])})
    return out
