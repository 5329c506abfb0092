"""A card's ``model-index`` metadata (HF conventions) and its "Evaluation results" section.

One result per (task, dataset, split): a later run for the same one replaces the values of
the metrics it measured and keeps the others. A metric is ``verified`` when a runner
computed it (the record is verified). The card's text gets (or has rewritten) an
"Evaluation results" section that shows the same results as a table, with an "Open in
Binder" badge on those whose run's notebook lives on a Git host. Both ``workbench eval run
--publish`` (a commit by the user) and the hub's results pull requests (runs a model commit
queued) write cards with these.

>>> card_with_result(readme_text, "tiny-classifier", record.data)   # doctest: +SKIP
'---\nmodel-index:\n- name: tiny-classifier\n  results: ...'
"""

from __future__ import annotations

import re
from typing import Any

from workbench.binder import BINDER, badge_markdown
from workbench.markdown import md_escape
from workbench.repocard import render_card, split_card

SECTION = "## Evaluation results"
_MARK = "Written by Workbench from the evaluation runs published to this card"
TASKS = {
    "classification": ("tabular-classification", "Tabular Classification"),
    "regression": ("tabular-regression", "Tabular Regression"),
}


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
    args: dict[str, Any] = {"run": data.get("id"), "model_commit": data["model_commit"]}
    if _binder(data.get("binder_url")):
        args["binder_url"] = data["binder_url"]
    for name, value in (data.get("metrics") or {}).items():
        if isinstance(value, int | float):
            metrics.append(
                {
                    "type": name,
                    "value": value,
                    "name": name.replace("_", " ").title(),
                    "verified": data.get("verified") is True,
                    "args": dict(args),
                }
            )
    return {
        "task": {"type": task_type, "name": task_name},
        "dataset": {
            "name": data["dataset"].split("/")[-1],
            "type": data["dataset"],
            "split": data["split"],
            "revision": data["dataset_commit"],
        },
        "metrics": metrics,
    }


def merge_model_index(meta: dict[str, Any], model_name: str, result: dict[str, Any]) -> dict[str, Any]:
    meta = dict(meta)
    index = meta.get("model-index")
    if not isinstance(index, list) or not index or not isinstance(index[0], dict):
        index = [{"name": model_name, "results": []}]
    entry = dict(index[0])
    results = [r for r in entry.get("results") or [] if isinstance(r, dict)]
    for existing in results:
        if (
            existing.get("task", {}).get("type") == result["task"]["type"]
            and existing.get("dataset", {}).get("type") == result["dataset"]["type"]
            and existing.get("dataset", {}).get("split") == result["dataset"]["split"]
        ):
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


def _binder(url: Any) -> str | None:
    """``url`` if it is a Binder link that is safe in a markdown link (cards are user text)."""
    ok = isinstance(url, str) and re.fullmatch(rf"{re.escape(BINDER)}/v2/[^\s()<>\[\]]+", url)
    return url if ok else None


def _cell(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return md_escape(text).replace("\n", " ")  # md_escape escapes "|" too


def results_section(meta: dict[str, Any]) -> str:
    """The card text's table of the ``model-index`` results, a Binder badge on each row whose
    run carries one; empty when there are none."""
    index = meta.get("model-index")
    first = index[0] if isinstance(index, list) and index else None
    results = first.get("results") if isinstance(first, dict) else None
    rows: list[tuple[str, ...]] = []
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict):
            continue
        dataset = d if isinstance(d := result.get("dataset"), dict) else {}
        for metric in result.get("metrics") or []:
            if not isinstance(metric, dict):
                continue
            args = a if isinstance(a := metric.get("args"), dict) else {}
            url = _binder(args.get("binder_url"))
            run = str(args.get("run") or "")
            name = str(dataset.get("type") or dataset.get("name") or "")
            rows.append(
                (
                    f"`{name}`" if re.fullmatch(r"[\w.-]+/[\w.-]+", name) else _cell(name),
                    _cell(dataset.get("split") or ""),
                    _cell(metric.get("type") or ""),
                    _cell(metric.get("value")),
                    f"`{run}`" if re.fullmatch(r"[0-9a-f]{32}", run) else _cell(run),
                    badge_markdown(url) if url else "",
                )
            )
    if not rows:
        return ""
    binder = any(r[-1] for r in rows)
    head = ["dataset", "split", "metric", "value", "run", *(["notebook"] if binder else [])]
    table = "\n".join("| " + " | ".join(r if binder else r[:-1]) + " |" for r in rows)
    return (
        f"{SECTION}\n\n{_MARK} (`wb.evaluate(..., publish=True)`, `workbench eval run "
        f"--publish`); the `model-index` metadata holds the same.\n\n"
        f"| {' | '.join(head)} |\n|{'---|' * len(head)}\n{table}\n"
    )


def with_results_section(body: str, section: str) -> str:
    """``body`` with its Workbench results section replaced by ``section`` (added at the end
    when it has none; a section of the same title that Workbench did not write is kept)."""
    lines = body.splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.strip() == SECTION
            and next((x for x in lines[i + 1 :] if x.strip()), "").startswith(_MARK)
        ),
        None,
    )
    if start is None:
        return f"{body.rstrip()}\n\n{section}" if section else body
    end = next(
        (j for j in range(start + 1, len(lines)) if lines[j].startswith("# ") or lines[j].startswith("## ")),
        len(lines),
    )
    before, rest = "\n".join(lines[:start]).rstrip(), "\n".join(lines[end:])
    return before + (f"\n\n{section}" if section else "\n") + (f"\n{rest}" if rest else "")


def card_with_result(text: str, model_name: str, data: dict[str, Any]) -> str:
    """The card ``text`` (a README, front matter and all) with run record ``data`` merged
    into its ``model-index`` and its results section rewritten to match."""
    meta, body = split_card(text)
    meta = merge_model_index(meta, model_name, model_index_result(data))
    return render_card(meta, with_results_section(body, results_section(meta)))
