"""The HF repo-info answer of one repo at a revision, shared by the repo and paper routes.

>>> repo_info_at(store, caller, RepoKey("model", "alice", "tiny"), None, blobs=False)  # doctest: +SKIP
{'_id': 'model-1', 'id': 'alice/tiny', ..., 'sha': '9c1e...'}
"""

from __future__ import annotations

from typing import Any

from workbench.hub import wire
from workbench.store.access import Principal, readable_repo
from workbench.store.commits import checkout
from workbench.store.repos import RepoKey
from workbench.store.storage import repo_storage, tree_storage
from workbench.store.store import Store


def repo_info_at(
    store: Store, caller: Principal, key: RepoKey, revision: str | None, *, blobs: bool
) -> dict[str, Any]:
    """Repo info at ``revision`` (None: ``main``, whose ``lastModified`` is the repo's)."""
    with store.read() as s:
        repo = readable_repo(store, s, caller, key.as_tuple())
        resolved, commit, tree = checkout(store, s, repo, revision or "main")
        out = wire.repo_info(repo, sha=resolved.oid, tree=tree, blobs=blobs)
        out["lastModified"] = wire.iso(commit.created_at) if revision else out["lastModified"]
        # the repo's storage, whatever the revision asked (the rule is in store/storage.py)
        out["usedStorage"] = repo_storage(store, s, repo) if revision else tree_storage(tree)
        return out
