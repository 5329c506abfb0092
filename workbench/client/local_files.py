"""Local files about to be uploaded: which ones, read in bounded chunks, hashed on demand.

Nothing is hashed up front: preupload needs only each file's path, size and first 512 bytes
(:meth:`LocalFile.read_sample`); the upload then hashes each file with the one digest it
needs (:meth:`LocalFile.hash`): SHA-256 for LFS files, the git blob SHA-1 for regular files
the hub already holds at that path, nothing for new regular files.

>>> files = collect_files(["config.json", "weights/"])     # doctest: +SKIP
>>> [f.path for f in files]                                # doctest: +SKIP
['config.json', 'model.safetensors', 'sub/extra.bin']
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import IntegrityError, InvalidPath, InvalidRequest

# Request bodies: 4 MiB reads. 8 MiB reads (and a reader thread prefetching them) made
# multipart PUTs slower here, not faster: see bench/README.md.
CHUNK = 4 * 1024 * 1024
HASH_CHUNK = 1024 * 1024  # hashing: one reused buffer that stays in the CPU cache
SAMPLE_BYTES = 512
SKIP_DIRS = frozenset({".git", "__pycache__"})

PathsArg = Sequence[str | Path] | Mapping[str, str | Path | bytes] | str | Path


@dataclass
class LocalFile:
    """One file of an upload: where it goes in the repo, where its bytes come from."""

    path: str
    source: Path | bytes
    size: int
    sample: bytes = b""
    sha256: str = ""
    git_oid: str = ""
    lfs: bool = False

    def chunks(
        self,
        start: int = 0,
        length: int | None = None,
        *,
        chunk_size: int = CHUNK,
        on_chunk: Callable[[int], object] | None = None,
    ) -> Iterator[bytes]:
        """Yield ``length`` bytes from ``start`` in pieces of at most ``chunk_size``.

        Raises :class:`IntegrityError` if the file is shorter than ``size`` or, when the
        range reaches its end, longer: it changed since it was listed.
        """
        end = self.size if length is None else start + length
        if isinstance(self.source, bytes):
            for i in range(start, end, chunk_size):
                piece = self.source[i : min(i + chunk_size, end)]
                if on_chunk:
                    on_chunk(len(piece))
                yield piece
            return
        left = end - start
        with open(self.source, "rb", buffering=0) as f:
            f.seek(start)
            while left > 0:
                piece = f.read(min(chunk_size, left))
                if not piece:
                    raise self._changed("shrank")
                left -= len(piece)
                if on_chunk:
                    on_chunk(len(piece))
                yield piece
            if end == self.size and f.read(1):
                raise self._changed("grew")

    def _changed(self, how: str) -> IntegrityError:
        return IntegrityError(
            f"{self.source if isinstance(self.source, Path) else self.path} "
            f"{how} while it was being uploaded; upload it again once it no "
            "longer changes."
        )

    def read_sample(self) -> None:
        """Fill ``sample``: the first bytes, which preupload uses to tell binary from text."""
        if isinstance(self.source, bytes):
            self.sample = self.source[:SAMPLE_BYTES]
        else:
            with open(self.source, "rb") as f:
                self.sample = f.read(SAMPLE_BYTES)

    def hash(
        self, on_chunk: Callable[[int], object] | None = None, *, sha256: bool = True, git: bool = True
    ) -> None:
        """Fill ``sha256`` (LFS id) and/or ``git_oid`` (git blob SHA-1) in one pass."""
        digests = []
        if sha256:
            digests.append(hashlib.sha256())
        if git:
            digests.append(hashlib.sha1(b"blob %d\x00" % self.size))
        if not digests:
            return
        seen = 0
        for piece in self._pieces():
            for d in digests:
                d.update(piece)
            seen += len(piece)
            if on_chunk:
                on_chunk(len(piece))
        if seen != self.size:
            raise IntegrityError(
                f"{self.path} changed size while it was being hashed "
                f"({self.size} then {seen} bytes); upload it again once it no "
                "longer changes."
            )
        if sha256:
            self.sha256 = digests[0].hexdigest()
        if git:
            self.git_oid = digests[-1].hexdigest()

    def _pieces(self) -> Iterator[memoryview]:
        """The whole content, in views that are only valid until the next one is taken."""
        if isinstance(self.source, bytes):
            view = memoryview(self.source)
            for i in range(0, len(view), HASH_CHUNK):
                yield view[i : i + HASH_CHUNK]
            return
        buf = memoryview(bytearray(HASH_CHUNK))
        with open(self.source, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                yield buf[:n]


def check_repo_path(path: str) -> str:
    """A path inside a repo: relative, '/'-separated, no '.' or '..' parts."""
    if (
        not isinstance(path, str)
        or not path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise InvalidPath(
            f"Invalid path in repo {path!r}: use a relative path like "
            "'data/train.csv' without '.', '..' or empty parts."
        )
    return path


def _walk(root: Path, prefix: str) -> Iterator[LocalFile]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            full = Path(folder) / name
            if not full.is_file():
                continue  # sockets, broken links
            rel = full.relative_to(root).as_posix()
            yield LocalFile(f"{prefix}/{rel}" if prefix else rel, full, full.stat().st_size)


def _one(path_in_repo: str, source: str | Path | bytes) -> Iterator[LocalFile]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        yield LocalFile(check_repo_path(path_in_repo), data, len(data))
        return
    local = Path(source)
    if local.is_dir():
        yield from _walk(local, path_in_repo.strip("/"))
    elif local.is_file():
        yield LocalFile(check_repo_path(path_in_repo), local, local.stat().st_size)
    else:
        raise FileNotFoundError(f"No such file or folder: {local}")


def collect_files(paths: PathsArg) -> list[LocalFile]:
    """Files and folders (by name, recursively) or ``{path_in_repo: path | bytes}``.

    In a mapping, a folder value uploads the folder's content under that prefix
    (``""`` = the repo root). ``.git/`` and ``__pycache__/`` folders are skipped.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[LocalFile] = []
    if isinstance(paths, Mapping):
        for path_in_repo, source in paths.items():
            files.extend(_one(path_in_repo, source))
    else:
        for p in paths:
            local = Path(p)
            files.extend(_one("" if local.is_dir() else local.name, local))
    seen: set[str] = set()
    for f in files:
        check_repo_path(f.path)
        if f.path in seen:
            raise InvalidRequest(f"Two files would be uploaded to {f.path!r}.", code="DuplicatePath")
        seen.add(f.path)
    return files
