"""How an evaluation notebook hands its results to the runner: the result MIME bundle.

Results leave a notebook as one display output with the MIME type
``application/vnd.workbench.result+json`` (plus a readable text and HTML fallback), and the
runner reads them back from the executed notebook; nothing scrapes printed text. Any notebook
that calls ``wb.report`` is an evaluation notebook.

>>> read_results(executed_notebook)[0]["metrics"]     # doctest: +SKIP
{'accuracy': 0.93}
"""

from __future__ import annotations

import json
import math
from typing import Any

from workbench.errors import InvalidRequest

MIME = "application/vnd.workbench.result+json"


def _number(name: str, value: Any) -> float | int | list[Any]:
    if isinstance(value, bool):
        raise InvalidRequest(f"Metric {name!r} is a bool; report a number.", code="InvalidMetric")
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy / torch scalars
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequest(f"Metric {name!r} is {value}; report a finite number.", code="InvalidMetric")
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return list(value)
    raise InvalidRequest(
        f"Metric {name!r} has value {value!r}: report numbers (or lists of numbers) only.",
        code="InvalidMetric",
    )


def result_payload(metrics: dict[str, Any], *, inputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The JSON ``wb.report`` emits: metrics, what was loaded (``inputs``), the environment."""
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidRequest(
            "wb.report needs a non-empty dict of metrics, e.g. wb.report({'accuracy': 0.9}).",
            code="InvalidMetric",
        )
    from workbench.evals.environment import environment

    payload: dict[str, Any] = {"metrics": {str(k): _number(str(k), v) for k, v in metrics.items()}}
    payload["inputs"] = inputs
    payload["environment"] = environment()
    payload.update(extra)
    json.dumps(payload)  # fail here, in the notebook, if an extra is not JSON
    return payload


def read_results(nb: Any) -> list[dict[str, Any]]:
    """Every ``wb.report`` payload in an executed notebook (nbformat node or dict), in order."""
    found = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            if MIME in data:
                value = data[MIME]
                found.append(json.loads(value) if isinstance(value, str) else dict(value))
    return found
