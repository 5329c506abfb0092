"""Repo ids without a namespace (``"gpt2"``), which the HF clients still send.

The public hub keeps a few such legacy ids, so ``repo_exists("name")``, ``revision_exists``,
``file_exists`` and ``list_repo_commits`` ask for them and read a missing one from
``X-Error-Code: RepoNotFound``. Here every repo has a namespace, so no route matches those
paths; the hub's 404 for an unmatched path asks :func:`missing_repo` whether the path names
such a repo, and answers as for any missing repo.
"""

from __future__ import annotations

import re

from workbench.errors import RepoNotFound
from workbench.names import PLURAL_TYPES, RESERVED_NAMESPACES

# The per-repo API routes of docs/hf-protocol.md, as /api/{plural}/{name}[/{action}/...].
_ACTIONS = (
    "revision|commits|tree|paths-info|refs|preupload|commit|branch|tag|discussions|settings"
    "|like|likers|auth-check"
)
_API = re.compile(rf"^/api/(?P<plural>models|datasets|spaces)/(?P<name>[^/]+)(?:/(?:{_ACTIONS})(?:/.*)?)?$")
# Model files (/{name}/resolve/...); prefixed types reach the namespaced route and its checks.
_RESOLVE = re.compile(r"^/(?P<name>[^/]+)/resolve/[^/]+/.+$")


def missing_repo(path: str) -> RepoNotFound | None:
    """The error for ``path`` when it names a repo by a bare name, else ``None``.

    >>> missing_repo("/api/models/gpt2/revision/main").code
    'RepoNotFound'
    >>> missing_repo("/api/models/gpt2/unknown") is None
    True
    """
    match = _API.match(path) or _RESOLVE.match(path)
    if match is None or match["name"].lower() in RESERVED_NAMESPACES:
        return None
    repo_type = PLURAL_TYPES[match["plural"]] if "plural" in match.groupdict() else "model"
    return RepoNotFound(
        f"Repository {match['name']} ({repo_type}) not found: repo ids here are namespace/name."
    )
