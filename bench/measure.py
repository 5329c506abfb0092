"""What every benchmark measures with: result rows, baselines, test files, a sampled hub.

>>> with BenchHub(work / "hub") as hub:              # doctest: +SKIP
...     with hub.rss.phase("upload"):
...         client.upload(...)
...     hub.rss.peak_mb("upload")
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

MB = 1_000_000  # MB/s is decimal throughout, as cp and dd report it
MiB = 1024 * 1024
RSS_INTERVAL = 0.05


@dataclass
class Result:
    """One row of the final table; ``passed`` is None for rows that are only informative."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    goal: str = ""
    passed: bool | None = None
    note: str = ""  # how it was measured (JSON only, not the table)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- test files and baselines ----------------------------------------------------------------


@contextmanager
def s3_hub(root: Path, bucket_name: str) -> Iterator[tuple[Any, Any]]:
    """A bucket on moto's S3 server (``tests.support.s3``, its own process) and the settings of
    a hub storing its blobs there, its data folder (emptied before and after) in ``root``. The
    bucket's AWS_* variables are set in this process meanwhile, as a hub on it has them."""
    import s3fs

    from tests.support.s3 import S3Server
    from workbench.config import HubSettings

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    server = S3Server().start()
    saved = dict(os.environ)
    try:
        bucket = server.create_bucket(bucket_name)
        os.environ.update(bucket.aws_env())
        s3fs.S3FileSystem.clear_instance_cache()  # an instance keeps the credentials it started with
        url = bucket.storage_url
        yield bucket, HubSettings(data_dir=root / "data", storage_url=url, write_user_config=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def make_file(path: Path, size: int, *, seed: int = 0) -> Path:
    """Incompressible content: urandom blocks, each led by its block number and ``seed``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        block = 0
        left = size
        while left > 0:
            n = min(MiB, left)
            head = seed.to_bytes(8, "little") + block.to_bytes(8, "little")
            f.write((head + os.urandom(max(0, n - len(head))))[:n])
            left -= n
            block += 1
    return path


def settle() -> None:
    """Write dirty pages back before a timed step, so no step pays for the previous one's.

    Nothing is dropped from the page cache: files read in a timed step are as cached as
    they happen to be, for the baseline and the hub alike.
    """
    os.sync()


def wait_converted(client: Any, repo: str, *, timeout: float = 600) -> None:
    """Wait until the hub's viewer has converted the latest commit of dataset ``repo`` and
    built its statistics and full-text search index.

    A push to a dataset repo starts those jobs in the hub process (``workbench.viewer``); for
    a 1M-row table they run for tens of seconds on one of this machine's two cores and take
    the hub's GIL from its request handlers, so a timed step right after the upload would
    share both with them.
    """
    deadline = time.monotonic() + timeout
    while viewer_busy(client, repo):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the viewer's jobs for {repo} still run after {timeout:.0f} s")
        time.sleep(0.2)


def viewer_busy(client: Any, repo: str) -> bool:
    """Whether the viewer's jobs for the head of ``main`` of ``repo`` are queued or running
    (the conversion, then the statistics and search index of the conversion it shows)."""
    busy = ("pending", "running")
    status = client.request("GET", f"/api/datasets/{repo}/viewer/status").json()
    if status.get("status") in busy:
        return True
    shown = status.get("parquet") or {}
    if status.get("status") == "done" and shown.get("source_commit") != status.get("commit"):
        return True  # converted, not yet shown
    return shown.get("statistics") in busy or shown.get("search") in busy


def sha256_file(path: Path, chunk: int = 4 * MiB) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(chunk):
            h.update(piece)
    return h.hexdigest()


def time_sha256(path: Path) -> tuple[float, str]:
    settle()
    start = time.perf_counter()
    digest = sha256_file(path)
    return time.perf_counter() - start, digest


def time_cp(sources: list[Path], dest_dir: Path, *, tries: int = 2, sync: bool = False) -> float:
    """Best of ``tries`` runs of ``cp SOURCES... DEST_DIR`` (page cache left as it is); with
    ``sync``, followed by ``sync``, as a baseline for writes that end on disk."""
    times = []
    for _ in range(tries):
        shutil.rmtree(dest_dir, ignore_errors=True)
        dest_dir.mkdir(parents=True)
        settle()
        start = time.perf_counter()
        subprocess.run(["cp", *map(str, sources), str(dest_dir)], check=True)
        if sync:
            os.sync()
        times.append(time.perf_counter() - start)
    shutil.rmtree(dest_dir, ignore_errors=True)
    log.info(
        "cp%s of %d file(s): %s s, best taken",
        " + sync" if sync else "",
        len(sources),
        ", ".join(f"{t:.2f}" for t in times),
    )
    return min(times)


def mb_per_s(nbytes: int, seconds: float) -> float:
    return nbytes / MB / seconds if seconds > 0 else float("inf")


# -- the hub under test ------------------------------------------------------------------------


class RssSampler:
    """The hub's RSS (with its children), sampled by ``bench.rss`` in its own process."""

    def __init__(self, pid: int, samples: Path, interval: float = RSS_INTERVAL) -> None:
        self.path = samples
        self._out = open(samples, "w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.rss", str(pid), str(interval)],
            stdout=self._out,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.phases: dict[str, tuple[int, int]] = {}
        self.cpu: dict[str, tuple[float, float]] = {}  # phase: (hub, this process) CPU seconds
        self._hub = psutil.Process(pid)

    def _cpu_now(self) -> tuple[float, float]:
        hub, me = self._hub.cpu_times(), os.times()
        return hub.user + hub.system, me.user + me.system

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Mark the samples taken while the block runs as ``name``'s."""
        settle()
        time.sleep(2 * RSS_INTERVAL)  # so the phase starts with a sample just before it
        start, cpu = time.monotonic_ns(), self._cpu_now()
        try:
            yield
        finally:
            end, cpu_end = time.monotonic_ns(), self._cpu_now()
            self.cpu[name] = (cpu_end[0] - cpu[0], cpu_end[1] - cpu[1])
            time.sleep(2 * RSS_INTERVAL)
            self.phases[name] = (start, end)

    def _samples(self, name: str) -> list[tuple[int, int]]:
        start, end = self.phases[name]
        out = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and start - RSS_INTERVAL * 1e9 <= int(parts[0]) <= end:
                out.append((int(parts[0]), int(parts[1])))
        return out

    def peak_mb(self, name: str) -> float:
        return max((rss for _, rss in self._samples(name)), default=0) / MB

    def describe(self, name: str) -> str:
        samples = self._samples(name)
        gaps = [b[0] - a[0] for a, b in pairwise(samples)]
        hub_cpu, own_cpu = self.cpu.get(name, (0.0, 0.0))
        return (
            f"{len(samples)} RSS samples (longest gap {max(gaps, default=0) / 1e6:.0f} ms), "
            f"hub peak {self.peak_mb(name):.0f} MB; CPU: hub {hub_cpu:.2f} s, "
            f"client {own_cpu:.2f} s"
        )

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait()
        self._out.close()


class BenchHub:
    """A real ``workbench hub serve`` process in ``root`` with its RSS sampled."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        repo_root = str(Path(__file__).resolve().parent.parent)
        if repo_root not in sys.path:
            sys.path.insert(0, repo_root)
        from tests.support.hub import HubProcess

        shutil.rmtree(root, ignore_errors=True)
        self.process = HubProcess(root, env={"WORKBENCH_LOG_LEVEL": "warning", **(env or {})})
        self.rss: RssSampler | None = None

    def __enter__(self) -> BenchHub:
        self.process.start()
        assert self.process.proc is not None
        self.rss = RssSampler(self.process.proc.pid, self.process.root / "rss.txt")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rss:
            self.rss.close()
        self.process.stop()

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def token(self) -> str:
        return self.process.token

    def client(self) -> Any:
        from workbench.client import HubClient

        return HubClient(self.url, self.token, progress=False)
