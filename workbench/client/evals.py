"""Evaluation records on the hub: create, show, list, notebook, attach a re-run, leaderboard.

>>> with HubClient() as hub:                                                 # doctest: +SKIP
...     hub.eval_runs(model="admin/tiny-classifier")
[{'id': '3f2a...', 'status': 'succeeded', 'metrics': {'accuracy': 0.93}, ...}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient


def create_run(client: HubClient, record: dict[str, Any]) -> dict[str, Any]:
    """Store a run record (``notebook``: the executed notebook as JSON text)."""
    result: dict[str, Any] = client.request("POST", "/api/evals", json=record).json()
    return result


def get_run(client: HubClient, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = client.request("GET", f"/api/evals/{quote(run_id, safe='')}").json()
    return result


def list_runs(
    client: HubClient,
    *,
    model: str | None = None,
    dataset: str | None = None,
    status: str | None = None,
    split: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        k: v for k, v in (("model", model), ("dataset", dataset), ("status", status), ("split", split)) if v
    }
    params["limit"] = limit
    result: list[dict[str, Any]] = client.request("GET", "/api/evals", params=params).json()
    return result


def run_notebook(client: HubClient, run_id: str) -> bytes:
    """The executed notebook of a run (``.ipynb`` bytes)."""
    return client.request("GET", f"/api/evals/{quote(run_id, safe='')}/notebook").content


def attach_reproduction(client: HubClient, run_id: str, *, run: str) -> dict[str, Any]:
    """Attach ``run``, your re-run of your record ``run_id``; returns the record with the
    ``reproduction`` the hub derived (``reproduction_run``, ``reproduced_by``, ``reproduced_at``,
    ``differences``)."""
    result: dict[str, Any] = client.request(
        "POST", f"/api/evals/{quote(run_id, safe='')}/reproduction", json={"run": run}
    ).json()
    return result


def leaderboard(
    client: HubClient, dataset: str, *, metric: str, split: str | None = "test", verified_only: bool = False
) -> dict[str, Any]:
    """``{"dataset", "split", "metric", "higher_is_better", "entries": [{rank, model, value,
    run, verified, verified_by, ...}]}``: the best run of each model (``verified_only``: of
    the records runners posted)."""
    ns, _, name = dataset.partition("/")
    params: dict[str, Any] = {"metric": metric, "split": split or ""}
    if verified_only:
        params["verified_only"] = "true"
    result: dict[str, Any] = client.request(
        "GET", f"/api/leaderboards/{quote(ns, safe='')}/{quote(name, safe='')}", params=params
    ).json()
    return result
