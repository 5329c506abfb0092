"""Runners and evaluation jobs on the hub: the admin's, the user's and the runner's calls.

>>> with HubClient() as hub:                                                 # doctest: +SKIP
...     job = queue_job(hub, {"model": "alice/m", "dataset": "alice/d", "requires": ["gpu"]})
...     for event in follow_job(hub, job["id"]): print(event)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.names import split_repo_id

if TYPE_CHECKING:
    from workbench.client.hub_client import HubClient

FINISHED = ("succeeded", "failed", "cancelled")


# -- admins ------------------------------------------------------------------------------


def register_runner(client: HubClient, name: str, *, labels: list[str] | None = None) -> dict[str, Any]:
    """Register a runner; the answer's ``token`` is shown this once."""
    body = {"name": name, "labels": list(labels or [])}
    result: dict[str, Any] = client.request("POST", "/api/runners", json=body).json()
    return result


def list_runners(client: HubClient) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.request("GET", "/api/runners").json()
    return result


def set_paused(client: HubClient, name: str, paused: bool) -> dict[str, Any]:
    action = "pause" if paused else "resume"
    result: dict[str, Any] = client.request("POST", f"/api/runners/{quote(name, safe='')}/{action}").json()
    return result


def remove_runner(client: HubClient, name: str) -> None:
    client.request("DELETE", f"/api/runners/{quote(name, safe='')}")


# -- users -------------------------------------------------------------------------------


def queue_job(client: HubClient, request: dict[str, Any]) -> dict[str, Any]:
    """Queue an evaluation job (the body of ``POST /api/eval-jobs``)."""
    result: dict[str, Any] = client.request("POST", "/api/eval-jobs", json=request).json()
    return result


def get_job(client: HubClient, job_id: int, *, after: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = client.request(
        "GET", f"/api/eval-jobs/{int(job_id)}", params={"after": after}
    ).json()
    return result


def list_jobs(client: HubClient, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit, **({"state": state} if state else {})}
    result: list[dict[str, Any]] = client.request("GET", "/api/eval-jobs", params=params).json()
    return result


def eval_suite(client: HubClient, dataset: str) -> dict[str, Any]:
    """The evaluation suite dataset ``dataset``'s card declares (``valid``, ``suite``, ``error``)."""
    ns, name = split_repo_id(dataset)
    result: dict[str, Any] = client.request("GET", f"/api/datasets/{ns}/{name}/eval-suite").json()
    return result


def cancel_job(client: HubClient, job_id: int) -> dict[str, Any]:
    result: dict[str, Any] = client.request("POST", f"/api/eval-jobs/{int(job_id)}/cancel").json()
    return result


def follow_job(
    client: HubClient,
    job_id: int,
    *,
    poll: float = 0.25,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Wait for job ``job_id`` to finish, passing each progress event to ``on_event`` as it
    comes; returns the finished job."""
    for _ in _events(client, job_id, poll, on_event):
        pass
    return get_job(client, job_id, after=0)


def _events(
    client: HubClient, job_id: int, poll: float, on_event: Callable[[dict[str, Any]], None] | None
) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        job = get_job(client, job_id, after=after)
        for event in job["events"]:
            if on_event is not None:
                on_event(event)
            yield event
        after = job["last_event"]
        if job["state"] in FINISHED:
            return
        time.sleep(poll)


# -- runners -----------------------------------------------------------------------------


def lease(client: HubClient, *, wait: float = 10.0, labels: list[str] | None = None) -> dict[str, Any] | None:
    """The next job this runner may run (waits up to ``wait`` seconds), or None; ``labels``:
    offer only these of the runner's labels (None: all it was registered with)."""
    body = {} if labels is None else {"labels": labels}
    result: dict[str, Any] = client.request(
        "POST", "/api/runner/lease", params={"wait": wait}, json=body, timeout=wait + 30
    ).json()
    return result if result.get("job") else None


def heartbeat(client: HubClient, job_id: int, lease_id: str) -> bool:
    """Renew the lease; False once the job is no longer this runner's (cancelled, re-leased)."""
    result = client.request(
        "POST", f"/api/runner/jobs/{int(job_id)}/heartbeat", json={"lease": lease_id}
    ).json()
    return bool(result.get("held"))


def post_events(client: HubClient, job_id: int, lease_id: str, events: list[dict[str, Any]]) -> None:
    client.request(
        "POST", f"/api/runner/jobs/{int(job_id)}/events", json={"lease": lease_id, "events": events}
    )


def complete(client: HubClient, job_id: int, lease_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """Post the job's record (stored verified, with this runner's name)."""
    result: dict[str, Any] = client.request(
        "POST", f"/api/runner/jobs/{int(job_id)}/complete", json={"lease": lease_id, "record": record}
    ).json()
    return result


def fail(client: HubClient, job_id: int, lease_id: str, error: str) -> dict[str, Any]:
    result: dict[str, Any] = client.request(
        "POST", f"/api/runner/jobs/{int(job_id)}/fail", json={"lease": lease_id, "error": error}
    ).json()
    return result


def release(client: HubClient, job_id: int, lease_id: str) -> None:
    """Hand the job back to the queue (this runner stops)."""
    client.request("POST", f"/api/runner/jobs/{int(job_id)}/release", json={"lease": lease_id})
