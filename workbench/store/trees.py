"""File manifests of commits, and the git object ids the HF protocol reports.

A tree is the full, sorted list of files of one commit, stored once per distinct content
(keyed by the SHA-256 of its canonical JSON). Trees are immutable, so they are cached.

>>> t = Tree.from_entries([TreeEntry("a.txt", "0" * 64, 3, git_blob_oid(b"abc"), False)])
>>> t.get("a.txt").size
3
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from threading import Lock

from workbench.errors import InvalidRequest

LFS_SPEC = "https://git-lfs.github.com/spec/v1"


def git_blob_oid(data: bytes) -> str:
    """The git blob id (SHA-1 of ``blob <size>\\0<data>``) of some bytes."""
    h = hashlib.sha1(b"blob %d\x00" % len(data))
    h.update(data)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version {LFS_SPEC}\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str
    sha256: str
    size: int
    git_oid: str  # blob id of the content (regular) or of the pointer (LFS)
    lfs: bool
    xet_hash: str | None = None  # LFS files uploaded through Xet: the file's Xet hash

    @property
    def pointer_size(self) -> int:
        return len(lfs_pointer(self.sha256, self.size))

    @classmethod
    def regular(cls, path: str, sha256: str, size: int, git_oid: str) -> TreeEntry:
        return cls(path, sha256, size, git_oid, False)

    @classmethod
    def large(cls, path: str, sha256: str, size: int, *, xet_hash: str | None = None) -> TreeEntry:
        return cls(path, sha256, size, git_blob_oid(lfs_pointer(sha256, size)), True, xet_hash)


@dataclass(frozen=True)
class Tree:
    hash: str
    entries: dict[str, TreeEntry]

    @classmethod
    def from_entries(cls, entries: Iterable[TreeEntry]) -> Tree:
        by_path = {e.path: e for e in entries}
        return cls(tree_hash(by_path.values()), dict(sorted(by_path.items())))

    def get(self, path: str) -> TreeEntry | None:
        return self.entries.get(path)

    def changed_paths(self, other: Tree) -> list[str]:
        """The paths whose entries differ between this tree and ``other``, sorted."""
        return [p for p in sorted(set(self.entries) | set(other.entries)) if self.get(p) != other.get(p)]

    def is_dir(self, path: str) -> bool:
        if path in ("", "/"):
            return True
        prefix = path.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in self.entries)

    def under(self, path: str) -> Iterator[TreeEntry]:
        prefix = "" if path in ("", "/") else path.rstrip("/") + "/"
        return (e for p, e in self.entries.items() if p.startswith(prefix))

    def listing(self, path: str, *, recursive: bool) -> list[tuple[str, TreeEntry | None]]:
        """Children of ``path``: (path, entry) for files, (path, None) for folders, folders first."""
        prefix = "" if path in ("", "/") else path.rstrip("/") + "/"
        dirs: dict[str, None] = {}
        files: list[tuple[str, TreeEntry | None]] = []
        for p, e in self.entries.items():
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix) :]
            parts = rest.split("/")
            for i in range(1, len(parts) if recursive else min(len(parts), 2)):
                dirs.setdefault(prefix + "/".join(parts[:i]), None)
            if recursive or len(parts) == 1:
                files.append((p, e))
        out: list[tuple[str, TreeEntry | None]] = [(d, None) for d in sorted(dirs)]
        return out + files

    def dir_oid(self, path: str) -> str:
        h = hashlib.sha1(b"tree\x00")
        for e in self.under(path):
            h.update(f"{e.path}\x00{e.git_oid}\n".encode())
        return h.hexdigest()

    def to_json(self) -> str:
        return canonical_json(self.entries.values())


def check_file_dir_clashes(files: Iterable[str]) -> None:
    """Refuse a set of paths where one is a file and a folder at once (``a`` and ``a/b``).

    >>> check_file_dir_clashes(["a/b", "a/c"])
    >>> check_file_dir_clashes(["a", "a/b"])
    Traceback (most recent call last):
    workbench.errors.InvalidRequest: 'a/b' needs a folder 'a', but 'a' is a file.
    """
    ordered = list(files)
    paths = set(ordered)
    for path in ordered:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in paths:
                raise InvalidRequest(
                    f"{path!r} needs a folder {parent!r}, but {parent!r} is a file.", code="PathConflict"
                )


def canonical_json(entries: Iterable[TreeEntry]) -> str:
    # The Xet hash is a sixth column only where there is one, so trees without Xet files keep
    # the hashes they always had.
    rows = sorted(
        [e.path, e.sha256, e.size, e.git_oid, int(e.lfs), *([e.xet_hash] if e.xet_hash else [])]
        for e in entries
    )
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def tree_hash(entries: Iterable[TreeEntry]) -> str:
    return hashlib.sha256(canonical_json(entries).encode()).hexdigest()


def parse_tree(hash_: str, text: str) -> Tree:
    rows = json.loads(text)
    return Tree(
        hash_,
        {
            r[0]: TreeEntry(r[0], r[1], int(r[2]), r[3], bool(r[4]), r[5] if len(r) > 5 else None)
            for r in rows
        },
    )


class TreeCache:
    """A small LRU of parsed trees; safe because trees never change."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[str, Tree] = OrderedDict()
        self._capacity = capacity
        self._lock = Lock()

    def get(self, key: str) -> Tree | None:
        with self._lock:
            tree = self._items.get(key)
            if tree is not None:
                self._items.move_to_end(key)
            return tree

    def put(self, tree: Tree) -> None:
        with self._lock:
            self._items[tree.hash] = tree
            self._items.move_to_end(tree.hash)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
