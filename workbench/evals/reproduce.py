"""Re-run a record with its pins and parameters, and attach the re-run so the hub can say
whether the numbers came out the same.

The executed notebook stored with the record is the source: its injected parameters, outputs
and papermill metadata are stripped, and it runs again with the record's parameters and the
pinned commits. The re-run is a record of its own (``reproduction_of`` names the original);
attaching it is what only the original's owner may do, and the hub, not this code, compares
the metrics (``workbench.store.reproduction``): the original then shows "reproduced",
"differs" (with the differences) or "failed", with who attached the re-run and when.

>>> outcome = reproduce("3f2a...", client=hub)          # doctest: +SKIP
>>> outcome["status"], outcome["differences"], outcome["reproduced_by"]     # doctest: +SKIP
('reproduced', [], 'alice')
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from workbench.client import evals as hub_evals
from workbench.errors import InvalidRequest, PermissionDenied
from workbench.evals.records import INJECTED
from workbench.evals.runner import EvalSpec, Progress, run_evaluation

PINNED = ("model", "dataset", "model_revision", "dataset_revision")


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


def rerun_spec(original: dict[str, Any], executed: bytes, folder: Path, **options: Any) -> EvalSpec:
    """The spec of a re-run of record ``original`` (as the hub shows it), whose executed
    notebook is ``executed``: its source notebook written to ``folder`` under the record's
    notebook name, the record's parameters, its pinned commits; ``options``: further
    :class:`EvalSpec` fields (timeout, hub_url, token, ...)."""
    named = folder / original["notebook"]["name"]
    source_notebook(executed, folder).rename(named)
    params = {k: v for k, v in (original.get("parameters") or {}).items() if k not in PINNED}
    return EvalSpec(
        original["model"],
        original["dataset"],
        split=original["split"],
        notebook=str(named),
        parameters=params,
        model_revision=original["model_commit"],
        dataset_revision=original["dataset_commit"],
        reproduction_of=original["id"],
        **options,
    )


def reproduce(
    run_id: str,
    *,
    client: Any,
    output_dir: str | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Re-run your record ``run_id`` and attach the re-run; returns ``{"status",
    "differences", "original", "rerun", "rerun_status", "reproduced_by", "reproduced_at"}``
    (``rerun``: the new record's id; ``status`` and ``differences`` as the hub derived them).

    Someone else's record, or one that did not succeed, is refused before anything runs (the
    hub would refuse the attach anyway). A re-run whose repos can no longer be pinned is not stored,
    so nothing is attached: ``status`` is "failed" and the original is left as it was.
    """
    original = client.eval_run(run_id)
    me = client.whoami().get("name")
    if original.get("created_by") != me:
        raise PermissionDenied(
            f"Only {original.get('created_by')}, who posted run {run_id}, may reproduce it; "
            "your token belongs to "
            f"{me}. (Post your own evaluation with `workbench eval run` instead.)",
            code="NotRecordOwner",
        )
    if original.get("status") != "succeeded":
        raise InvalidRequest(
            f"Run {run_id} {original.get('status')}: only a record that succeeded has metrics to reproduce.",
            code="RunNotSucceeded",
        )
    with tempfile.TemporaryDirectory() as tmp:
        spec = rerun_spec(
            original,
            client.eval_notebook(run_id),
            Path(tmp),
            timeout=timeout,
            hub_url=client.url,
            token=client.token,
            output_dir=output_dir,
        )
        record = run_evaluation(spec, progress=progress, client=client)
    outcome: dict[str, Any] = {
        "status": "failed",
        "differences": [{"error": record.error}],
        "original": run_id,
        "rerun": record.id,
        "rerun_status": record.status,
        "reproduced_by": None,
        "reproduced_at": None,
    }
    if record.id is None:
        return outcome
    attached = hub_evals.attach_reproduction(client, run_id, run=record.id)
    outcome.update(
        status=attached["reproduction"],
        differences=attached["differences"],
        reproduced_by=attached["reproduced_by"],
        reproduced_at=attached["reproduced_at"],
    )
    return outcome
