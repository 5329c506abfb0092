"""Redirected downloads (issue 25's measure): bytes the hub itself sends for a download of
``size`` bytes from an S3 store with ``storage_redirects`` on, against the same download with
it off, in the same run.

The stock client runs in its own process (``bench.xet``'s, so ``HF_HUB_DISABLE_XET`` is set
before it imports anything) and downloads into an empty cache: through git-LFS's ``/resolve``
(a 302 to a presigned URL of the object) and through Xet (the reconstruction's fetch URLs are
presigned URLs of the xorbs). What the hub sent is the growth of ``wchar`` in
``/proc/PID/io`` over the download: every byte it wrote to a socket or a file, its log
included, so "about 0" reads as "a few kB".
"""

from __future__ import annotations

import logging
from pathlib import Path

from bench.measure import BenchHub, Result, make_file, mb_per_s
from bench.xet import client
from tests.support.s3 import S3Server

log = logging.getLogger(__name__)

GOAL = 0.01  # of the file: "about 0"


def _written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/PID/io")


def _download(work: Path, s3: S3Server, src: Path, *, xet: bool, redirects: bool) -> tuple[int, float]:
    """Upload ``src`` to a fresh hub on its own bucket; the bytes the hub wrote while the
    stock client downloaded it, and the client's seconds."""
    name = f"{'xet' if xet else 'lfs'}-{'on' if redirects else 'off'}"
    bucket = s3.create_bucket(f"bench-{name}")
    env = bucket.hub_env() | {"WORKBENCH_STORAGE_REDIRECTS": "true" if redirects else "false"}
    with BenchHub(work / name, env=env) as hub:
        with hub.client() as admin:
            repo = f"{admin.whoami()['name']}/{name}"
            admin.create_repo(repo)
        client(hub, work / f"{name}-up", "upload", repo, "big.bin", str(src), xet=xet)
        assert hub.process.proc is not None
        pid = hub.process.proc.pid
        before = _written(pid)
        answer = client(
            hub, work / f"{name}-down", "download", repo, "big.bin", str(work / f"{name}-cache"), xet=xet
        )
        sent = _written(pid) - before
    log.info("redirects: %s: hub wrote %d bytes, client %.2f s", name, sent, answer["seconds"])
    return sent, float(answer["seconds"])


def run(work: Path, size: int) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    src = make_file(work / "big.bin", size)
    s3 = S3Server().start()
    results: list[Result] = []
    try:
        for xet in (False, True):
            way = "Xet" if xet else "git-LFS /resolve"
            off, off_s = _download(work, s3, src, xet=xet, redirects=False)
            on, on_s = _download(work, s3, src, xet=xet, redirects=True)
            mib = size // (1024 * 1024)
            results.append(
                Result(
                    f"redirects: hub bytes, {way} download of {mib} MiB",
                    on / 1e6,
                    "MB",
                    off / 1e6,
                    "redirects off MB",
                    on / off,
                    goal=f"<= {GOAL:.0%} of the file",
                    passed=on <= GOAL * size,
                    note=f"client {mb_per_s(size, on_s):.0f} MB/s with redirects, "
                    f"{mb_per_s(size, off_s):.0f} MB/s without",
                )
            )
    finally:
        s3.stop()
        src.unlink(missing_ok=True)
    return results
