"""What the access table is made of: the repos a call aims at (``Target``), a route's entry
(``Route``: the access it needs, how to call it) and the builders of example calls.

The table itself is ``tests/support/access_table.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TYPES = ("model", "dataset", "space", "paper")
PLURAL = {"model": "models", "dataset": "datasets", "space": "spaces", "paper": "papers"}
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "paper": "papers/"}
WHO = ("anonymous", "outsider", "reader", "writer", "admin", "admin_ro")
NO_READ = ("anonymous", "outsider")
ROLE_RANK = {"reader": 1, "writer": 2, "admin": 3}
NDJSON = {"Content-Type": "application/x-ndjson"}
OID = hashlib.sha256(b"access matrix").hexdigest()


@dataclass(frozen=True)
class Target:
    type: str
    ns: str
    name: str
    arxiv: str = ""
    disc: int = 1
    pr: int = 2
    comment: str = "none"
    run: str = "none"
    word: str = "none"  # a word only this repo's card and files hold
    sha: str = "0" * 40  # main of this repo, and of the matching dataset (evaluation runs)
    ds_sha: str = "0" * 40

    @property
    def id(self) -> str:
        return f"{self.ns}/{self.name}"

    @property
    def api(self) -> str:
        return f"/api/{PLURAL[self.type]}/{self.id}"

    @property
    def web(self) -> str:
        return f"/{PREFIX[self.type]}{self.id}"


Call = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """``need``: read | write | admin | participate | author | create | list | open | self |
    member | orgadmin | hubadmin | runner | signed. ``runner``: runner tokens only, which
    none of the matrix's callers holds. ``mutates``: read-scope tokens must be refused.
    ``hubadmin``: only hub administrators, none of the matrix's callers (the team's admin
    administers its organization, not the hub)."""

    need: str
    call: Callable[[Target, str], Call]
    types: tuple[str, ...] = TYPES
    mutates: bool = False
    ok: tuple[int, ...] = (200, 201)
    strict: bool = True  # allowed callers must get ``ok`` (else: anything but 401/403/404, 5xx)


def commit_body(path: str) -> dict[str, Any]:
    lines = [
        {"key": "header", "value": {"summary": "matrix"}},
        {"key": "file", "value": {"path": path, "encoding": "base64", "content": "eA=="}},
    ]
    return {"content": b"\n".join(json.dumps(x).encode() for x in lines), "headers": NDJSON}


def get(
    url: Callable[[Target, str], str], params: Callable[[Target, str], dict[str, Any]] | None = None
) -> Callable[[Target, str], Call]:
    return lambda t, who: ("GET", url(t, who), {"params": params(t, who)} if params else {})


def req(
    method: str,
    url: Callable[[Target, str], str],
    body: Callable[[Target, str], dict[str, Any]] | None = None,
) -> Callable[[Target, str], Call]:
    return lambda t, who: (method, url(t, who), body(t, who) if body else {})


def js(data: Callable[[Target, str], Any]) -> Callable[[Target, str], dict[str, Any]]:
    return lambda t, who: {"json": data(t, who)}


def job_body(t: Target, who: str) -> dict[str, Any]:
    body = evals_body(t, who)
    return {"model": body["model"], "dataset": body["dataset"], "split": "test", "metrics": ["accuracy"]}


def evals_body(t: Target, who: str) -> dict[str, Any]:
    ds = t.id.replace(t.name, t.name.replace(t.type, "dataset")) if t.type == "model" else t.id
    return {
        "model": t.id,
        "dataset": ds,
        "model_commit": t.sha,
        "dataset_commit": t.ds_sha,
        "split": "test",
        "notebook_name": "e.ipynb",
        "notebook_sha256": "0" * 64,
        "status": "succeeded",
        "metrics": {"accuracy": 0.5},
    }
