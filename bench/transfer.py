"""One large file through the hub: upload, download and re-upload, against cp and hashlib.

Upload and download speeds are compared with ``cp`` of the same file on the same disk
(best of two, page cache as it is); the re-upload of unchanged content with one SHA-256
pass over the file in ``hashlib``. The hub's RSS is sampled every ~50 ms meanwhile.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from bench.measure import (
    BenchHub,
    Result,
    make_file,
    mb_per_s,
    sha256_file,
    time_cp,
    time_sha256,
)

log = logging.getLogger(__name__)

SPEED_GOAL = 0.5  # of cp's MB/s, each way
RSS_GOAL_MB = 300.0
REUPLOAD_GOAL = 1.5  # times one SHA-256 pass


def run(work: Path, size: int, *, transfer: bool = True, reupload: bool = True) -> list[Result]:
    """Upload, download (``transfer``) and re-upload (``reupload``) a ``size``-byte file."""
    work.mkdir(parents=True, exist_ok=True)
    src = make_file(work / "src" / "big.bin", size)
    results: list[Result] = []
    cp_s = time_cp([src], work / "cp") if transfer else None
    hash_s, digest = time_sha256(src)
    log.info(
        "test file %s: %d bytes, sha256 %s; cp %s s, sha256 %.2f s",
        src,
        size,
        digest,
        f"{cp_s:.2f}" if cp_s else "-",
        hash_s,
    )

    with BenchHub(work / "hub") as hub, hub.client() as client:
        assert hub.rss is not None
        repo = f"{client.whoami()['name']}/transfer"
        client.create_repo(repo, exist_ok=True)

        with hub.rss.phase("upload"):
            start = time.perf_counter()
            client.upload(repo, {"big.bin": src}, message="bench upload")
            up_s = time.perf_counter() - start
        sent = client.last_transfer_stats.get("bytes_uploaded", -1)
        notes = {"upload": hub.rss.describe("upload")}
        log.info("upload: %.2f s, %d bytes sent; %s", up_s, sent, notes["upload"])

        if transfer:
            assert cp_s is not None
            dest = work / "download"
            shutil.rmtree(dest, ignore_errors=True)
            with hub.rss.phase("download"):
                start = time.perf_counter()
                path = client.download_file(repo, "big.bin", local_dir=dest)
                down_s = time.perf_counter() - start
            notes["download"] = hub.rss.describe("download")
            log.info("download: %.2f s; %s", down_s, notes["download"])
            mismatches = int(sent != size) + int(sha256_file(path) != digest)
            shutil.rmtree(dest, ignore_errors=True)
            cp_mbs = mb_per_s(size, cp_s)
            for name, secs in (("upload", up_s), ("download", down_s)):
                speed = mb_per_s(size, secs)
                ratio = speed / cp_mbs
                results.append(
                    Result(
                        f"{name} {size // 2**20} MiB",
                        speed,
                        "MB/s",
                        cp_mbs,
                        "cp MB/s",
                        ratio,
                        f">= {SPEED_GOAL} x cp",
                        ratio >= SPEED_GOAL,
                        f"{secs:.2f} s; {notes[name]}",
                    )
                )
            for name in ("upload", "download"):
                peak = hub.rss.peak_mb(name)
                results.append(
                    Result(
                        f"hub peak RSS, {name}",
                        peak,
                        "MB",
                        goal=f"< {RSS_GOAL_MB:.0f} MB",
                        passed=peak < RSS_GOAL_MB,
                        note=notes[name],
                    )
                )
            results.append(
                Result("transfer mismatches", mismatches, "files", goal="== 0", passed=mismatches == 0)
            )

        if reupload:
            with hub.rss.phase("reupload"):
                start = time.perf_counter()
                client.upload(repo, {"big.bin": src}, message="bench re-upload")
                again_s = time.perf_counter() - start
            stats = dict(client.last_transfer_stats)
            log.info("re-upload: %.2f s, stats %s; %s", again_s, stats, hub.rss.describe("reupload"))
            ratio = again_s / hash_s
            results.append(
                Result(
                    f"re-upload {size // 2**20} MiB",
                    again_s,
                    "s",
                    hash_s,
                    "sha256 s",
                    ratio,
                    f"<= {REUPLOAD_GOAL} x sha256",
                    ratio <= REUPLOAD_GOAL,
                    hub.rss.describe("reupload"),
                )
            )
            moved = stats.get("bytes_uploaded", -1)
            skipped = stats.get("files_skipped", 0)
            results.append(
                Result(
                    "re-upload bytes sent",
                    moved,
                    "B",
                    goal="== 0, 1 file skipped",
                    passed=moved == 0 and skipped == 1,
                    note=str(stats),
                )
            )
    shutil.rmtree(work, ignore_errors=True)
    return results
