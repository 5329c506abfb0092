"""Built-in metric modules, published as space repos so ``evaluate.load("accuracy")`` works.

``evaluate.load("accuracy")`` (no namespace) fetches ``{HF_ENDPOINT}/spaces/evaluate-metric/
accuracy/resolve/main/accuracy.py`` (docs/hf-compatibility.md), so the hub keeps the modules written in
``workbench/evals/metrics/`` as spaces of the organization ``evaluate-metric``. Run by
``workbench hub init`` and on every hub start; it commits only what is missing or changed,
so restarts (and several hub processes starting together) add no commits.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import select

from workbench.errors import Conflict
from workbench.names import METRIC_NAMESPACE
from workbench.store import models as m
from workbench.store.access import Principal
from workbench.store.accounts import create_org, get_account, principal_for
from workbench.store.commits import AddFile, create_commit
from workbench.store.repos import create_repo
from workbench.store.store import Store

log = logging.getLogger(__name__)

NAMESPACE = METRIC_NAMESPACE
METRICS_DIR = Path(__file__).resolve().parent.parent / "evals" / "metrics"


def builtin_metrics() -> dict[str, dict[str, bytes]]:
    """``{name: {path in repo: bytes}}`` of every module in ``workbench/evals/metrics``."""
    out: dict[str, dict[str, bytes]] = {}
    for folder in sorted(p for p in METRICS_DIR.iterdir() if p.is_dir()):
        script = folder / f"{folder.name}.py"
        if script.is_file():
            out[folder.name] = {
                f"{folder.name}.py": script.read_bytes(),
                "README.md": (folder / "README.md").read_bytes(),
            }
    return out


def get_account_name(store: Store, name: str) -> int | None:
    with store.read() as s:
        account = get_account(s, name)
        return account.id if account is not None else None


def ensure_metric_spaces(store: Store, admin_name: str) -> list[str]:
    """Create or update the built-in metric spaces; return the names that got a commit."""
    with store.write() as s:
        admin = get_account(s, admin_name)
        if admin is None or not admin.is_admin:
            admin = s.scalar(
                select(m.Account).where(m.Account.kind == "user", m.Account.is_admin.is_(True)).limit(1)
            )
        if admin is None:
            return []
        principal = principal_for(s, admin, "write")
    if get_account_name(store, NAMESPACE) is None:
        try:
            with store.write() as s:
                # no members: hub admins write to it (their role), nobody's org list grows
                create_org(s, NAMESPACE, fullname="Metric modules for evaluate")
        except Conflict:  # another hub process created it just now
            pass
    changed = []
    for name, files in builtin_metrics().items():
        try:
            if _ensure_one(store, principal, name, files):
                changed.append(name)
        except Exception:  # a store problem is fsck's to report; the hub must still start
            log.exception("could not publish the metric module %s", name)
    if changed:
        log.info("published metric modules: %s", ", ".join(changed))
    return changed


def _ensure_one(store: Store, principal: Principal, name: str, files: dict[str, bytes]) -> bool:
    """Create the space if missing; commit the files that differ. True if it committed."""
    with store.write() as s:
        repo = s.scalar(
            select(m.Repo).where(m.Repo.type == "space", m.Repo.namespace == NAMESPACE, m.Repo.name == name)
        )
        if repo is None:
            try:
                create_repo(store, s, principal, "space", NAMESPACE, name, sdk="static")
            except Conflict:  # another hub process created it just now
                pass
    with store.read() as s:
        repo = store.get_repo(s, "space", NAMESPACE, name)
        ref = s.scalar(
            select(m.Ref).where(m.Ref.repo_id == repo.id, m.Ref.kind == "branch", m.Ref.name == "main")
        )
        commit = s.get(m.Commit, ref.commit_oid) if ref else None
        tree = store.load_tree(s, commit.tree_hash) if commit else None
    ops = []
    for path, data in files.items():
        current = tree.get(path) if tree is not None else None
        # hash first: restarts then write (and fsync) nothing
        if current is None or current.sha256 != hashlib.sha256(data).hexdigest():
            ops.append(AddFile(path, store.blobs.ingest_bytes(data)))
    if ops:
        create_commit(
            store,
            principal,
            ("space", NAMESPACE, name),
            "main",
            list(ops),
            summary=f"Workbench built-in metric {name}",
        )
    return bool(ops)
