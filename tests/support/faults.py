"""A bounded load to keep running while a fault is injected, and the checks after it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import HubProcess


class Load:
    """Small commits and reads in a thread until stopped: what it was told was committed, and
    every refusal (status, error code)."""

    def __init__(self, hub: HubProcess, repo_id: str, *, reads_must_succeed: bool = True) -> None:
        self.api = HfApi(endpoint=hub.url, token=hub.token)
        self.url, self.token, self.repo_id = hub.url, hub.token, repo_id
        self.commits: dict[str, str] = {}  # path -> commit id
        self.refused: list[tuple[int, str]] = []
        self.refused_paths: list[str] = []
        self.reads = 0
        self.reads_must_succeed = reads_must_succeed
        self.failed_reads: list[tuple[int, str]] = []  # while reads may fail (the database down)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        i = 0
        while not self.stop.is_set():
            path = f"log/{i}.txt"
            try:
                info = self.api.upload_file(
                    path_or_fileobj=f"line {i}\n".encode(), path_in_repo=path, repo_id=self.repo_id
                )
                self.commits[path] = str(info.oid)
            except HfHubHTTPError as exc:
                r = exc.response
                self.refused.append((r.status_code, r.headers.get("x-error-code", "")))
                self.refused_paths.append(path)
            except Exception as exc:  # reported by the test
                self.errors.append(f"commit {i}: {exc!r}")
            r = httpx.get(f"{self.url}/api/models/{self.repo_id}", headers=auth, timeout=60)
            if r.status_code == 200:
                self.reads += 1
            elif self.reads_must_succeed:
                self.errors.append(f"read: {r.status_code} {r.text[:200]}")
            else:
                self.failed_reads.append((r.status_code, r.headers.get("x-error-code", "")))
            i += 1
            time.sleep(0.05)

    def wait_for(self, commits: int, reads: int = 0, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.commits) < commits or self.reads < reads:
            assert time.monotonic() < deadline and self.thread.is_alive(), self.errors
            time.sleep(0.05)

    @contextmanager
    def running(self) -> Iterator[Load]:
        self.thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            self.thread.join(120)

    def check_after(self, hub: HubProcess) -> None:
        """Every acknowledged commit is in the history with its file; fsck is clean."""
        assert not self.errors, self.errors
        history = {c.commit_id for c in self.api.list_repo_commits(self.repo_id)}
        assert set(self.commits.values()) <= history
        files = set(self.api.list_repo_files(self.repo_id))
        assert set(self.commits) <= files
        assert not files & set(self.refused_paths), "a refused commit became visible"
        fsck = hub.cli("hub", "fsck", "--json", check=False)
        report = json.loads(fsck.stdout)
        assert fsck.returncode == 0 and report["ok"], report["problems"]
