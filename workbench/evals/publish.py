"""Write a run's results into the model card's ``model-index`` metadata (HF conventions).

One result per (task, dataset, split): a later run for the same one replaces the values of
the metrics it measured and keeps the others. The card change is a commit on the model's
``main`` branch (it needs write access to the model), made with the commit the card was read
at as parent, so a concurrent card edit is never overwritten silently.

>>> publish_to_card(client, record.data)          # doctest: +SKIP
{'commit': '3f2a...', 'model': 'admin/tiny-classifier'}
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from workbench.cards import README, render_card, split_card
from workbench.errors import EntryNotFound

TASKS = {"classification": ("tabular-classification", "Tabular Classification"),
         "regression": ("tabular-regression", "Tabular Regression")}


def _task(data: dict[str, Any]) -> tuple[str, str]:
    for info in (data.get("metric_info") or {}).values():
        task = info.get("task") if isinstance(info, dict) else None
        if isinstance(task, str) and task:
            return TASKS.get(task, (task, task.replace("-", " ").title()))
    return TASKS["classification"]


def model_index_result(data: dict[str, Any]) -> dict[str, Any]:
    """One ``model-index`` result entry for a run record."""
    task_type, task_name = _task(data)
    metrics = []
    for name, value in (data.get("metrics") or {}).items():
        if isinstance(value, int | float):
            metrics.append({"type": name, "value": value, "name": name.replace("_", " ").title(),
                            "verified": False,
                            "args": {"run": data.get("id"), "model_commit": data["model_commit"]}})
    return {"task": {"type": task_type, "name": task_name},
            "dataset": {"name": data["dataset"].split("/")[-1], "type": data["dataset"],
                        "split": data["split"], "revision": data["dataset_commit"]},
            "metrics": metrics}


def merge_model_index(meta: dict[str, Any], model_name: str, result: dict[str, Any]) -> dict[str, Any]:
    meta = dict(meta)
    index = meta.get("model-index")
    if not isinstance(index, list) or not index or not isinstance(index[0], dict):
        index = [{"name": model_name, "results": []}]
    entry = dict(index[0])
    results = [r for r in entry.get("results") or [] if isinstance(r, dict)]
    for existing in results:
        if (existing.get("task", {}).get("type") == result["task"]["type"]
                and existing.get("dataset", {}).get("type") == result["dataset"]["type"]
                and existing.get("dataset", {}).get("split") == result["dataset"]["split"]):
            existing["dataset"] = result["dataset"]
            by_type = {m.get("type"): m for m in existing.get("metrics") or [] if isinstance(m, dict)}
            for metric in result["metrics"]:
                by_type[metric["type"]] = metric
            existing["metrics"] = list(by_type.values())
            break
    else:
        results.append(result)
    entry["results"] = results
    meta["model-index"] = [entry, *index[1:]]
    return meta


def publish_to_card(client: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Commit the run's metrics into the model card; returns ``{"commit", "model"}``."""
    model = data["model"]
    head = client.revision_sha(model)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_file(model, README, revision=head, local_dir=tmp)
            text = Path(path).read_text(encoding="utf-8")
        except EntryNotFound:
            text = f"# {model.split('/')[-1]}\n"
    meta, body = split_card(text)
    meta = merge_model_index(meta, model.split("/")[-1], model_index_result(data))
    card = render_card(meta, body)
    result = client.upload(model, {README: card.encode("utf-8")}, parent_commit=head,
                           message=f"Add evaluation results of run {data.get('id')}",
                           description=f"Results of run {data.get('id')} on {data['dataset']} "
                                       f"[{data['split']}] at {data['dataset_commit'][:12]}.")
    return {"commit": result.get("commitOid"), "model": model}
