"""``workbench hub gc`` on the data folder of a hub that keeps serving."""

from __future__ import annotations

import json
import os

from tests.store.test_fsck import blob_path, upload_lfs
from tests.support.hub import HubProcess
from workbench.config import HubSettings
from workbench.store.gc import GcLock
from workbench.store.store import Store


def test_gc_command(hub_factory) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    h: HubProcess = hub_factory(env={"WORKBENCH_BUILTIN_METRICS": "false"})
    HfApi(endpoint=h.url, token=h.token).create_repo("admin/gc")
    orphan = os.urandom(30_000)
    upload_lfs(h, "admin/gc", orphan)  # uploaded, never committed

    r = h.cli("hub", "gc", "--help")
    assert all(opt in r.stdout for opt in ("--grace", "--xet-grace", "--dry-run", "--json"))

    r = h.cli("hub", "gc", "--grace", "0", "--xet-grace", "1d", "--dry-run", "--json", "--data", str(h.data))
    report = json.loads(r.stdout)
    assert (report["grace_s"], report["xet_grace_s"]) == (0, 86400)
    assert report["dry_run"] and (report["blobs_freed"], report["bytes_freed"]) == (1, len(orphan))
    assert blob_path(h, orphan).exists()

    r = h.cli("hub", "gc")  # the default grace (an hour) keeps the fresh upload
    assert r.stdout.startswith("freed 0 blobs") and "1 recent blobs" in r.stdout

    store = Store.open(HubSettings(data_dir=h.data, write_user_config=False))
    lock = GcLock(store)
    lock.acquire()
    try:
        r = h.cli("hub", "gc", "--grace", "0", check=False)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.startswith("error: Another GC is running since ")
        assert blob_path(h, orphan).exists()
    finally:
        lock.release()
        store.close()

    r = h.cli("hub", "gc", "--grace", "0s")
    assert r.stdout.startswith("freed 1 blobs (29.3 KiB), 0 Xet files, 0 xorbs, 0 shards")
    assert "commits waited at most " in r.stdout
    assert not blob_path(h, orphan).exists()
    assert h.cli("hub", "fsck").returncode == 0

    r = h.cli("hub", "gc", "--grace", "a while", check=False)
    assert r.returncode == 2 and "is not a duration" in r.stderr
