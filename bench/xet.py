"""Xet with the stock client: a large file up and down, a 1 MiB edit, checkpoints, hub CPU.

The client is ``huggingface_hub`` with ``hf_xet``, run in a subprocess per transfer
(``python -m bench.xet upload|download ...``) because ``HF_HUB_DISABLE_XET`` and
``HF_ENDPOINT`` are read when it is imported; the subprocess times only the library call.
Baselines are measured in the same run: ``cp`` followed by ``sync`` of the same file (best of
two), five times one checkpoint, the hub's CPU on the git-LFS and inline paths. What the
client sent is counted on the hub side: the xorbs and shards the hub registered, read from its
database, and the growth of its data folder. Two rows show what no hub can beat here:
``hf_xet`` alone writing the same file to a ``local://`` CAS (no network, no hub), and a
teammate's edit uploaded from an empty cache, which only global deduplication makes small.

>>> run(Path("bench/out/work/xet"), 64 * MiB)        # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import MB, BenchHub, MiB, Result, make_file, mb_per_s, sha256_file, time_cp

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SPEED_GOAL = 0.5  # of cp + sync, each way
RSS_GOAL_MB = 300.0  # as for the git-LFS transfer (bench/transfer.py)
EDIT_BYTES = MiB
EDIT_SENT_GOAL = 0.02  # of the file
EDIT_TIME_GOAL = 0.1  # of the first upload
EDIT_GROWTH_GOAL = 0.02  # of the file
CHECKPOINTS = 5
# The checkpoint model (BERT-style encoder + classifier); about 45 MB of float32 by default.
HIDDEN = int(os.environ.get("BENCH_XET_HIDDEN", "256"))
LAYERS = int(os.environ.get("BENCH_XET_LAYERS", "4"))
INLINE_MAX = 256 * MiB  # the inline path's CPU is measured on at most this much


# -- the client, in its own process -------------------------------------------------------------


def client_env(hub: BenchHub, home: Path, *, xet: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HOME": str(home),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "DO_NOT_TRACK": "1",
    }
    env.pop("HF_HUB_DISABLE_XET", None)
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    return env


def client(hub: BenchHub, home: Path, *args: str, xet: bool = True) -> dict[str, Any]:
    """Run ``python -m bench.xet ARGS`` against ``hub``; its JSON answer plus ``wall_s``."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.xet", *args],
        cwd=ROOT,
        env=client_env(hub, home, xet=xet),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"bench.xet {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    answer["wall_s"] = wall
    return answer


def _local_upload(cas: str, local: str) -> None:
    """hf_xet alone: chunk, hash, compress and write ``local`` to a ``local://`` CAS folder,
    with no hub and no network; the floor for any hub's Xet upload on this machine."""
    import hf_xet

    start = time.perf_counter()
    commit = hf_xet.XetSession().new_upload_commit(
        endpoint=f"local://{cas}", token="local", token_expiry_unix_secs=int(time.time()) + 3600
    )
    commit.start_upload_file(local)
    commit.wait_to_finish()
    seconds = time.perf_counter() - start
    own = os.times()
    print(json.dumps({"seconds": seconds, "calls": {}, "cpu_s": round(own.user + own.system, 2)}))


def local_client(home: Path, cas: Path, local: Path) -> dict[str, Any]:
    """Run :func:`_local_upload` in its own process (``HF_HOME`` holds its shard cache)."""
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1"}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.xet", "local-upload", str(cas), str(local)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.xet local-upload failed:\n{out.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    answer["wall_s"] = time.perf_counter() - start
    return answer


def _client_main(argv: list[str]) -> None:
    if argv[0] == "local-upload":
        _local_upload(*argv[1:])
        return
    # Imported here, in the client process, after the parent set HF_ENDPOINT and
    # HF_HUB_DISABLE_XET: huggingface_hub reads both at import.
    import huggingface_hub._commit_api as commit_api
    from huggingface_hub import HfApi, hf_hub_download

    calls = {"xet": 0, "lfs": 0}
    for name, key in (("_upload_xet_files", "xet"), ("_upload_lfs_files", "lfs")):
        real = getattr(commit_api, name)

        def counted(*a: Any, _real: Any = real, _key: str = key, **kw: Any) -> Any:
            calls[_key] += 1
            return _real(*a, **kw)

        setattr(commit_api, name, counted)
    action, repo_id, path_in_repo, local = argv
    start = time.perf_counter()
    if action == "upload":
        HfApi().upload_file(path_or_fileobj=local, path_in_repo=path_in_repo, repo_id=repo_id)
    else:
        hf_hub_download(repo_id, path_in_repo, cache_dir=local)
    seconds = time.perf_counter() - start
    own = os.times()
    print(json.dumps({"seconds": seconds, "calls": calls, "cpu_s": round(own.user + own.system, 2)}))


# -- what the hub holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class HubState:
    folder_bytes: int
    xorbs: dict[str, int]  # hash -> bytes of chunk records
    shards: dict[str, int]  # blob sha256 -> bytes


def hub_state(hub: BenchHub) -> HubState:
    data = hub.process.data
    total = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    db = sqlite3.connect(f"file:{data / 'hub.sqlite'}?mode=ro", uri=True)
    try:
        xorbs = dict(db.execute("SELECT hash, size FROM xet_xorbs").fetchall())
        shards = dict(db.execute("SELECT blob_sha256, size FROM xet_shards").fetchall())
    finally:
        db.close()
    return HubState(total, xorbs, shards)


def sent_between(before: HubState, after: HubState) -> tuple[int, int, int]:
    """Bytes of the xorbs and shards registered in between, and how many xorbs."""
    xorbs = {h: s for h, s in after.xorbs.items() if h not in before.xorbs}
    shards = sum(s for h, s in after.shards.items() if h not in before.shards)
    return sum(xorbs.values()) + shards, len(xorbs), shards


def synced(answer: dict[str, Any]) -> float:
    """The client's time for the call plus a ``sync`` after it, as the baseline pays."""
    start = time.perf_counter()
    os.sync()
    return float(answer["seconds"]) + time.perf_counter() - start


def _create(hub: BenchHub, name: str) -> str:
    with hub.client() as admin:
        repo = f"{admin.whoami()['name']}/{name}"
        admin.create_repo(repo, exist_ok=True)
    return repo


# -- the benchmarks ----------------------------------------------------------------------------


def large_file(work: Path, src: Path, size: int) -> tuple[list[Result], dict[str, float]]:
    """Upload, download and edit-then-re-upload ``src`` through Xet; the hub CPU per phase."""
    results: list[Result] = []
    cp_s = time_cp([src], work / "cp", sync=True)
    cp_mbs = mb_per_s(size, cp_s)
    cpu: dict[str, float] = {}
    floor_up = synced(local_client(work / "local-home", work / "local-cas", src))
    with BenchHub(work / "hub") as hub:
        assert hub.rss is not None
        repo = _create(hub, "xet-large")
        home = work / "client-home"
        with hub.rss.phase("upload"):
            up = client(hub, home, "upload", repo, "big.bin", str(src))
            up_s = synced(up)
        cpu["xet"] = hub.rss.cpu["upload"][0]
        log.info("xet upload: %s; %s", up, hub.rss.describe("upload"))
        first = hub_state(hub)

        dest = work / "download"
        with hub.rss.phase("download"):
            down = client(hub, work / "download-home", "download", repo, "big.bin", str(dest))
            down_s = synced(down)
        log.info("xet download: %s; %s", down, hub.rss.describe("download"))
        got = next(p for p in (dest).rglob("big.bin") if p.is_file() or p.is_symlink())
        intact = sha256_file(got.resolve()) == sha256_file(src)
        shutil.rmtree(dest, ignore_errors=True)
        for name, secs, answer in (("upload", up_s, up), ("download", down_s, down)):
            speed = mb_per_s(size, secs)
            results.append(
                Result(
                    f"xet {name} {size // MiB} MiB",
                    speed,
                    "MB/s",
                    cp_mbs,
                    "cp+sync MB/s",
                    speed / cp_mbs,
                    f">= {SPEED_GOAL} x cp+sync",
                    speed / cp_mbs >= SPEED_GOAL,
                    f"{secs:.2f} s (call + sync), client process {answer['wall_s']:.2f} s and "
                    f"{answer['cpu_s']} s CPU, calls {answer['calls']}; {hub.rss.describe(name)}",
                )
            )
        results.append(Result("xet download intact", int(intact), "", goal="== 1 (SHA-256)", passed=intact))
        floor_mbs = mb_per_s(size, floor_up)
        results.append(
            Result(
                "hf_xet alone, upload (no hub)",
                floor_mbs,
                "MB/s",
                cp_mbs,
                "cp+sync MB/s",
                floor_mbs / cp_mbs,
                "(the floor: the client's own work)",
                None,
                f"{floor_up:.2f} s to a local:// CAS, + sync; the hub upload above took {up_s:.2f} s",
            )
        )
        for name in ("upload", "download"):
            peak = hub.rss.peak_mb(name)
            results.append(
                Result(
                    f"hub peak RSS, xet {name}",
                    peak,
                    "MB",
                    goal=f"< {RSS_GOAL_MB:.0f} MB",
                    passed=peak < RSS_GOAL_MB,
                    note=hub.rss.describe(name),
                )
            )

        # 1 MiB overwritten in the middle, same path, same client cache (its shard cache is
        # what tells hf_xet which chunks the hub already has).
        with open(src, "r+b") as f:
            f.seek(size // 2)
            f.write(os.urandom(EDIT_BYTES))
        with hub.rss.phase("edit"):
            edit = client(hub, home, "upload", repo, "big.bin", str(src))
            edit_s = synced(edit)
        log.info("xet re-upload after a 1 MiB edit: %s; %s", edit, hub.rss.describe("edit"))
        after = hub_state(hub)
        floor_edit = synced(local_client(work / "local-home", work / "local-cas", src))
        sent, new_xorbs, shard_bytes = sent_between(first, after)
        growth = after.folder_bytes - first.folder_bytes
        results += [
            Result(
                "1 MiB edit: bytes sent",
                sent / MB,
                "MB",
                size / MB,
                "file MB",
                sent / size,
                f"<= {EDIT_SENT_GOAL:.0%} of the file",
                sent / size <= EDIT_SENT_GOAL,
                f"{new_xorbs} new xorb(s) and {shard_bytes} B of shard registered by the hub",
            ),
            Result(
                "1 MiB edit: re-upload time",
                edit_s,
                "s",
                up_s,
                "first upload s",
                edit_s / up_s,
                f"<= {EDIT_TIME_GOAL} x first upload",
                edit_s / up_s <= EDIT_TIME_GOAL,
                f"client process {edit['wall_s']:.2f} s and {edit['cpu_s']} s CPU; "
                f"{hub.rss.describe('edit')}",
            ),
            Result(
                "hf_xet alone, 1 MiB edit (no hub)",
                floor_edit,
                "s",
                floor_up,
                "its first upload s",
                floor_edit / floor_up,
                "(the floor: the client's own work)",
                None,
                "re-upload to the same local:// CAS from the same shard cache, + sync",
            ),
            Result(
                "1 MiB edit: storage growth",
                growth / MB,
                "MB",
                size / MB,
                "file MB",
                growth / size,
                f"<= {EDIT_GROWTH_GOAL:.0%} of the file",
                growth / size <= EDIT_GROWTH_GOAL,
                f"data folder {first.folder_bytes} -> {after.folder_bytes} B",
            ),
        ]
        # A teammate's edit of that file (another 1 MiB, elsewhere), into their own repo from
        # a machine that never uploaded it (an empty HF_HOME): only the hub's global
        # deduplication answers spare the unchanged bytes.
        with open(src, "r+b") as f:
            f.seek(size // 4)
            f.write(os.urandom(EDIT_BYTES))
        other = _create(hub, "xet-large-elsewhere")
        client(hub, work / "other-home", "upload", other, "big.bin", str(src))
        sent, new_xorbs, shard_bytes = sent_between(after, hub_state(hub))
        results.append(
            Result(
                "teammate's 1 MiB edit, new machine: bytes sent",
                sent / MB,
                "MB",
                size / MB,
                "file MB",
                sent / size,
                f"<= {EDIT_SENT_GOAL:.0%} of the file",
                sent / size <= EDIT_SENT_GOAL,
                f"{new_xorbs} new xorb(s) and {shard_bytes} B of shard; global deduplication",
            )
        )
    return results, cpu


def hub_cpu_without_xet(work: Path, src: Path, size: int, *, inline: bool) -> tuple[float, int]:
    """Hub CPU seconds to take ``src`` over git-LFS, or inline (``upload_mode = regular``)."""
    env = {"WORKBENCH_UPLOAD_MODE": "regular"} if inline else {}
    with BenchHub(work / ("hub-inline" if inline else "hub-lfs"), env=env) as hub:
        assert hub.rss is not None
        repo = _create(hub, "plain")
        with hub.rss.phase("upload"):
            answer = client(hub, work / "plain-home", "upload", repo, "big.bin", str(src), xet=False)
        log.info("%s upload: %s; %s", "inline" if inline else "git-LFS", answer, hub.rss.describe("upload"))
        return hub.rss.cpu["upload"][0], size


def checkpoints(work: Path, *, full: bool) -> list[Result]:
    """Five checkpoints of a small BERT fine-tuned a few steps each, uploaded in turn."""
    import torch  # heavy, and only this benchmark needs it
    from safetensors.torch import save_model
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=max(1, HIDDEN // 64),
        intermediate_size=4 * HIDDEN,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    if not full:  # the usual cheap fine-tune: last layer and classifier only
        for name, param in model.named_parameters():
            param.requires_grad = name.startswith(("classifier", f"bert.encoder.layer.{LAYERS - 1}."))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    label = "full" if full else "last layer"
    files = []
    for i in range(CHECKPOINTS):
        for _ in range(3):
            ids = torch.randint(0, config.vocab_size, (8, 32))
            loss = model(input_ids=ids, labels=torch.randint(0, 2, (8,))).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        path = work / f"ckpt-{label.replace(' ', '-')}-{i}" / "model.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, str(path))
        files.append(path)
    one = files[0].stat().st_size
    with BenchHub(work / f"hub-ckpt-{label.replace(' ', '-')}") as hub:
        repo = _create(hub, "checkpoints")
        base = hub_state(hub).folder_bytes
        growth = []
        for path in files:
            client(
                hub,
                work / f"ckpt-home-{label.replace(' ', '-')}",
                "upload",
                repo,
                "model.safetensors",
                str(path),
            )
            growth.append(hub_state(hub).folder_bytes - base)
    log.info("checkpoints (%s fine-tune), %d B each: storage after each %s", label, one, growth)
    total, first = growth[-1], growth[0]
    return [
        Result(
            f"{CHECKPOINTS} checkpoints ({label}): storage",
            total / MB,
            "MB",
            CHECKPOINTS * first / MB,
            f"{CHECKPOINTS} x one MB",
            total / (CHECKPOINTS * first),
            "(lower is better)",
            None,
            f"safetensors {one} B each ({LAYERS} layers, hidden {HIDDEN}); "
            f"storage after each upload {growth}",
        )
    ]


def run(work: Path, size: int) -> list[Result]:
    """All the Xet rows: large file (``size`` bytes), 1 MiB edit, checkpoints, hub CPU."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src = make_file(work / "src" / "big.bin", size, seed=29)
    results, cpu = large_file(work, src, size)
    make_file(src, size, seed=30)  # fresh content: no hub may have seen it
    lfs_cpu, _ = hub_cpu_without_xet(work, src, size, inline=False)
    inline_size = min(size, INLINE_MAX)
    small = make_file(work / "src" / "inline.bin", inline_size, seed=31)
    inline_cpu, _ = hub_cpu_without_xet(work, small, inline_size, inline=True)
    gib = 1024**3
    xet_per_gib = cpu["xet"] * gib / size
    for label, seconds, nbytes in (("git-LFS", lfs_cpu, size), ("inline", inline_cpu, inline_size)):
        per_gib = seconds * gib / nbytes
        results.append(
            Result(
                f"hub CPU per GiB: xet vs {label}",
                xet_per_gib,
                "s",
                per_gib,
                f"{label} s",
                xet_per_gib / per_gib,
                "(lower is better)",
                None,
                f"xet {cpu['xet']:.2f} s for {size} B; {label} {seconds:.2f} s for {nbytes} B",
            )
        )
    src.unlink()
    small.unlink()
    for full in (True, False):
        results += checkpoints(work, full=full)
    shutil.rmtree(work, ignore_errors=True)
    return results


if __name__ == "__main__":
    _client_main(sys.argv[1:])
