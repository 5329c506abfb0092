"""``wb.report``: an evaluation notebook's results, as one display output the runner reads back.

>>> wb.report({"accuracy": 0.93}, split="test")      # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

from workbench.evals.report import MIME, result_payload
from workbench.kernel.inputs import inputs


def report(metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Emit the results of an evaluation notebook; returns the payload.

    ``extra`` keys the runner understands: ``metric_info`` (``{name: {"higher_is_better",
    "tolerance"}}``), ``model``, ``dataset``, ``split``, ``seed``, ``n_examples``.

    >>> wb.report({"accuracy": 0.93}, metric_info={"accuracy": {"tolerance": 0}})  # doctest: +SKIP
    """
    payload = result_payload(metrics, inputs=[r.to_dict() for r in inputs()], **extra)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in payload["metrics"].items()
    )
    text = "Evaluation result: " + ", ".join(f"{k}={_fmt(v)}" for k, v in payload["metrics"].items())
    bundle = {
        MIME: payload,
        "text/plain": text,
        "text/html": f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>",
    }
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to display to
        return payload
    display(bundle, raw=True)
    return payload


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
