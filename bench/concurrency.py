"""Many clients at once: distinct files downloaded in parallel, every byte checked.

The baseline is ``cp`` of the same files into one folder (best of two). Each worker has its
own :class:`HubClient`; an exception, a wrong size or a wrong SHA-256 counts as an error.
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.measure import BenchHub, Result, make_file, mb_per_s, sha256_file, time_cp
from bench.transfer import RSS_GOAL_MB

log = logging.getLogger(__name__)


def run(work: Path, *, files: int = 32, file_size: int = 16 * 2**20) -> list[Result]:
    """Upload ``files`` distinct files, then download them all at once, one worker each."""
    work.mkdir(parents=True, exist_ok=True)
    names = [f"shard-{i:03d}.bin" for i in range(files)]
    sources = [make_file(work / "src" / n, file_size, seed=i + 1) for i, n in enumerate(names)]
    digests = {n: sha256_file(p) for n, p in zip(names, sources, strict=True)}
    total = files * file_size
    cp_s = time_cp(sources, work / "cp")

    with BenchHub(work / "hub") as hub, hub.client() as admin:
        assert hub.rss is not None
        repo = f"{admin.whoami()['name']}/concurrency"
        admin.create_repo(repo, exist_ok=True)
        start = time.perf_counter()
        admin.upload(repo, dict(zip(names, sources, strict=True)), message="bench shards")
        log.info(
            "uploaded %d x %d bytes in one commit: %.2f s", files, file_size, time.perf_counter() - start
        )

        clients = [hub.client() for _ in names]
        dest = work / "download"
        shutil.rmtree(dest, ignore_errors=True)

        def fetch(i: int) -> Path:
            return clients[i].download_file(repo, names[i], local_dir=dest / f"w{i:03d}")

        errors: list[str] = []
        paths: dict[str, Path] = {}
        with hub.rss.phase("concurrent"), ThreadPoolExecutor(max_workers=files) as pool:
            start = time.perf_counter()
            futures = {names[i]: pool.submit(fetch, i) for i in range(files)}
            for name, fut in futures.items():
                try:
                    paths[name] = fut.result()
                except Exception as exc:
                    errors.append(f"{name}: {exc!r}")
            wall = time.perf_counter() - start
        for c in clients:
            c.close()
        for name, path in paths.items():
            if path.stat().st_size != file_size or sha256_file(path) != digests[name]:
                errors.append(f"{name}: content differs")
        for e in errors[:10]:
            log.warning("concurrent download error: %s", e)
        note = hub.rss.describe("concurrent")
        log.info("%d concurrent downloads: %.2f s; %s", files, wall, note)
        peak = hub.rss.peak_mb("concurrent")

    shutil.rmtree(work, ignore_errors=True)
    speed, cp_mbs = mb_per_s(total, wall), mb_per_s(total, cp_s)
    label = f"{files} x {file_size // 2**20} MiB concurrent download"
    return [
        Result(
            label,
            speed,
            "MB/s",
            cp_mbs,
            "cp MB/s",
            speed / cp_mbs,
            "(aggregate)",
            note=f"{wall:.2f} s; {note}",
        ),
        Result(
            f"{files} concurrent: errors + mismatches",
            len(errors),
            "files",
            goal="== 0",
            passed=not errors,
            note="; ".join(errors[:10]),
        ),
        Result(
            f"hub peak RSS, {files} concurrent",
            peak,
            "MB",
            goal=f"< {RSS_GOAL_MB:.0f} MB",
            passed=peak < RSS_GOAL_MB,
            note=note,
        ),
    ]
