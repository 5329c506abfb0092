"""Validation of everything a user names: repo ids, file paths, branch and tag names.

The rules follow the Hugging Face Hub's so that ids valid there are valid here.

>>> validate_path("data/train.csv")
'data/train.csv'
>>> validate_path("../etc/passwd")  # doctest: +SKIP
InvalidRequest: ...
"""

from __future__ import annotations

import re

from workbench.errors import InvalidPath, InvalidRequest

REPO_TYPES = ("model", "dataset", "space", "paper")
TYPE_PLURALS = {"model": "models", "dataset": "datasets", "space": "spaces", "paper": "papers"}
PLURAL_TYPES = {v: k for k, v in TYPE_PLURALS.items()}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "paper": "papers/"}

METRIC_NAMESPACE = "evaluate-metric"  # where evaluate.load("accuracy") looks for a metric space
BOT_NAME = "workbench-bot"  # the hub's own identity (results pull requests); no one else's name

# Names that would make web URLs ambiguous (`/datasets/...`, `/api/...`) or impersonate the hub.
RESERVED_NAMESPACES = frozenset(
    {
        "api",
        "models",
        "datasets",
        "spaces",
        "papers",
        "docs",
        "settings",
        "login",
        "logout",
        "join",
        "new",
        "organizations",
        "orgs",
        "search",
        "workbench",
        "static",
        "assets",
        "huggingface",
        BOT_NAME,
        "resolve",
        "blog",
        "buckets",
        "pricing",
        "notifications",
        "collections",
        "users",
        "__lfs",
        "lfs",
        "health",
        "openapi.json",
        "redoc",
    }
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20~^:?*\[\\\x7f]")


def is_commit_id(value: str) -> bool:
    return bool(_COMMIT_RE.match(value))


def validate_sha256(value: str) -> str:
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise InvalidRequest(
            f"Invalid SHA-256 object id {value!r}: expected 64 lowercase hex characters.", code="InvalidOid"
        )
    return value


def validate_repo_type(value: str | None) -> str:
    repo_type = value or "model"
    if repo_type not in REPO_TYPES:
        raise InvalidRequest(
            f"Invalid repo type {repo_type!r}: use one of {', '.join(REPO_TYPES)}.", code="InvalidRepoType"
        )
    return repo_type


def validate_name_part(value: str, what: str = "repo name") -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidRequest(
            f"Invalid {what} {value!r}: use 1-96 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit.",
            code="InvalidRepoName",
        )
    if "--" in value or ".." in value:
        raise InvalidRequest(
            f"Invalid {what} {value!r}: '--' and '..' are forbidden.", code="InvalidRepoName"
        )
    if value.endswith((".git", ".", "-")):
        raise InvalidRequest(
            f"Invalid {what} {value!r}: it cannot end with '.git', '.' or '-'.", code="InvalidRepoName"
        )
    return value


def validate_namespace(value: str) -> str:
    validate_name_part(value, "namespace")
    if value.lower() in RESERVED_NAMESPACES:
        raise InvalidRequest(
            f"Namespace {value!r} is reserved; choose another user or organization name.",
            code="ReservedNamespace",
        )
    return value


def split_repo_id(repo_id: str) -> tuple[str, str]:
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2:
        raise InvalidRequest(
            f"Invalid repo id {repo_id!r}: expected 'namespace/name'.", code="InvalidRepoName"
        )
    return validate_namespace(parts[0]), validate_name_part(parts[1])


def validate_path(path: str) -> str:
    """Check a file path inside a repo: relative, '/'-separated, no '..', '.git', NUL or '\\'.

    Refusals are ``InvalidPath`` (422, as the public hub answers); backslashes are refused
    outright, where the public hub takes them as part of a name (docs/hf-compatibility.md).
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath("Empty file path: give a path relative to the repo root.")
    if len(path.encode()) > 1024:
        raise InvalidPath("File path longer than 1024 bytes.")
    if "\\" in path:
        raise InvalidPath(f"Invalid file path {path!r}: use '/' as separator, not '\\'.")
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise InvalidPath(f"Invalid file path {path!r}: control characters (including NUL) are not allowed.")
    if path.startswith("/"):
        raise InvalidPath(f"Invalid file path {path!r}: it must be relative to the repo root.")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidPath(f"Invalid file path {path!r}: empty, '.' and '..' components are not allowed.")
        if part.lower() == ".git":
            raise InvalidPath(f"Invalid file path {path!r}: a '.git' component is not allowed.")
    return path


def validate_ref_name(name: str, what: str = "branch") -> str:
    """Check a new branch or tag name with git's rules (and not a commit id)."""
    bad = (
        not isinstance(name, str)
        or not name
        or len(name) > 255
        or _BAD_REF_CHARS.search(name)
        or name.startswith(("/", "-", "refs/"))
        or name.endswith(("/", ".", ".lock"))
        or "//" in name
        or ".." in name
        or "@{" in name
        or name == "@"
    )
    if bad:
        raise InvalidRequest(
            f"Invalid {what} name {name!r}: use letters, digits, '-', '_', '.', '/'; "
            "no spaces, '..', '~^:?*[\\' or a leading 'refs/'.",
            code="InvalidRef",
        )
    if is_commit_id(name):
        raise InvalidRequest(f"Invalid {what} name {name!r}: it looks like a commit id.", code="InvalidRef")
    return name


def metric_space_id(metric: str) -> str:
    """The space repo that holds metric module ``metric`` (``evaluate.load``'s rule).

    >>> metric_space_id("accuracy"), metric_space_id("alice/f2")
    ('evaluate-metric/accuracy', 'alice/f2')
    """
    return metric if "/" in metric else f"{METRIC_NAMESPACE}/{metric}"
