"""``wb.report``: how an evaluation notebook hands its results to the runner.

Results leave a notebook as one display output with the MIME type
``application/vnd.workbench.result+json`` (plus a readable text and HTML fallback), and the
runner reads them back from the executed notebook; nothing scrapes printed text. Any notebook
that calls ``wb.report`` is an evaluation notebook.

>>> wb.report({"accuracy": 0.93}, split="test")      # doctest: +SKIP
"""

from __future__ import annotations

import html
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
            raise InvalidRequest(f"Metric {name!r} is {value}; report a finite number.",
                                 code="InvalidMetric")
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return list(value)
    raise InvalidRequest(f"Metric {name!r} has value {value!r}: report numbers (or lists of "
                         "numbers) only.", code="InvalidMetric")


def result_payload(metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON ``wb.report`` emits: metrics, what was loaded (``inputs``), the environment."""
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidRequest("wb.report needs a non-empty dict of metrics, e.g. "
                             "wb.report({'accuracy': 0.9}).", code="InvalidMetric")
    from workbench.evals.environment import environment
    from workbench.inputs import inputs

    payload: dict[str, Any] = {"metrics": {str(k): _number(str(k), v) for k, v in metrics.items()}}
    payload["inputs"] = [r.to_dict() for r in inputs()]
    payload["environment"] = environment()
    payload.update(extra)
    json.dumps(payload)  # fail here, in the notebook, if an extra is not JSON
    return payload


def report(metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Emit the results of an evaluation notebook; returns the payload.

    ``extra`` keys the runner understands: ``metric_info`` (``{name: {"higher_is_better",
    "tolerance"}}``), ``model``, ``dataset``, ``split``, ``seed``, ``n_examples``.

    >>> wb.report({"accuracy": 0.93}, metric_info={"accuracy": {"tolerance": 0}})  # doctest: +SKIP
    """
    payload = result_payload(metrics, **extra)
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in payload["metrics"].items())
    text = "Evaluation result: " + ", ".join(f"{k}={_fmt(v)}" for k, v in payload["metrics"].items())
    bundle = {MIME: payload, "text/plain": text,
              "text/html": f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"}
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to display to
        return payload
    display(bundle, raw=True)
    return payload


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


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
