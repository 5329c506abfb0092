"""Re-run a record with its pins and parameters, and say whether the numbers came out the same.

The executed notebook stored with the record is the source: its injected parameters, outputs
and papermill metadata are stripped, and it runs again with the record's parameters and the
pinned commits. Each metric must match exactly, or within the tolerance its module declares
(``metric_info[name]["tolerance"]``, absolute). The original record then shows "reproduced",
"differs" (with the differences) or "failed"; the re-run is a record of its own.

>>> outcome = reproduce("3f2a...", client=hub)          # doctest: +SKIP
>>> outcome["status"], outcome["differences"]           # doctest: +SKIP
('reproduced', [])
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from workbench.evals.records import INJECTED
from workbench.evals.runner import EvalSpec, Progress, run_evaluation

PINNED = ("model", "dataset", "model_revision", "dataset_revision")


def compare(
    original: dict[str, Any], rerun: dict[str, Any], metric_info: dict[str, Any]
) -> list[dict[str, Any]]:
    """Metrics that differ by more than their tolerance (or are missing from the re-run)."""
    out = []
    for name, before in original.items():
        info = i if isinstance(i := metric_info.get(name), dict) else {}
        tol = float(info.get("tolerance") or 0.0)
        after = rerun.get(name)
        if after is None:
            out.append({"metric": name, "original": before, "rerun": None, "tolerance": tol})
            continue
        pairs = (
            list(zip(before, after, strict=False))
            if isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
            else [(before, after)]
        )
        if any(
            not (isinstance(a, int | float) and isinstance(b, int | float))
            or not math.isclose(a, b, rel_tol=0.0, abs_tol=tol)
            for a, b in pairs
        ):
            diff = (
                after - before if isinstance(before, int | float) and isinstance(after, int | float) else None
            )
            out.append(
                {"metric": name, "original": before, "rerun": after, "tolerance": tol, "difference": diff}
            )
    return out


def source_notebook(executed: bytes, folder: Path) -> Path:
    """The notebook as it was before papermill ran it (outputs, injected cell removed)."""
    nb = json.loads(executed)
    cells = []
    for cell in nb.get("cells", []):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if INJECTED in tags or "papermill-error-cell-tag" in tags:
            continue
        cell = dict(cell)
        cell["metadata"] = {k: v for k, v in (cell.get("metadata") or {}).items() if k != "papermill"}
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    nb["cells"] = cells
    nb["metadata"] = {k: v for k, v in (nb.get("metadata") or {}).items() if k != "papermill"}
    path = folder / (nb.get("metadata", {}).get("wb_name") or "notebook.ipynb")
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def reproduce(
    run_id: str,
    *,
    client: Any,
    output_dir: str | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Re-run record ``run_id`` and store the outcome on it; returns ``{"status",
    "differences", "original", "rerun"}`` (``rerun``: the new record's id)."""
    original = client.eval_run(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        source = source_notebook(client.eval_notebook(run_id), Path(tmp))
        named = Path(tmp) / original["notebook"]["name"]
        source.rename(named)
        params = {k: v for k, v in (original.get("parameters") or {}).items() if k not in PINNED}
        spec = EvalSpec(
            original["model"],
            original["dataset"],
            split=original["split"],
            notebook=str(named),
            parameters=params,
            model_revision=original["model_commit"],
            dataset_revision=original["dataset_commit"],
            timeout=timeout,
            hub_url=client.url,
            token=client.token,
            output_dir=output_dir,
            reproduction_of=run_id,
        )
        record = run_evaluation(spec, progress=progress, client=client)
    if not record.ok:
        status = "failed"
        differences: list[dict[str, Any]] = [{"error": record.error}]
    else:
        differences = compare(
            original.get("metrics") or {}, record.metrics, original.get("metric_info") or {}
        )
        status = "differs" if differences else "reproduced"
    client.record_reproduction(run_id, status=status, differences=differences, run=record.id)
    return {
        "status": status,
        "differences": differences,
        "original": run_id,
        "rerun": record.id,
        "rerun_status": record.status,
    }
