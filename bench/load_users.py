"""Team members as Locust users, run headless in this process against one hub URL.

Run by ``bench/load.py`` in a child process of its own, because importing Locust patches
the standard library for gevent (sockets, threads, subprocesses): the benchmark process and
the other benchmarks keep the real ones.

    python -m bench.load_users --host URL --token T --repos admin/m0,admin/m1 \\
        --users 10,25,50 --seconds 20 --out stats.json

It prints ``step-start N`` and ``step-end N`` on stdout around each measured window.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import HttpUser, between, task
from locust.env import Environment

# Think time of a person between two actions (uniform, seconds).
THINK = (0.5, 1.5)
# Operation (the request's name in the statistics) and its method.
OPERATIONS = {
    "search": "GET",
    "repo page": "GET",
    "tree": "GET",
    "download": "GET",
    "comment": "POST",
    "commit": "POST",
}


class TeamMember(HttpUser):
    """Looks for models, opens them, downloads weights, comments, commits small files."""

    wait_time = between(*THINK)
    repos: ClassVar[list[str]] = []
    token: ClassVar[str] = ""
    file: ClassVar[str] = ""  # the file of each repo that users download

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {self.token}"
        self.me = f"user-{id(self):x}"
        self.commits = 0

    def _repo(self) -> str:
        return random.choice(self.repos)

    @task(3)
    def search(self) -> None:
        self.client.get("/api/models", params={"search": "checkpoint", "limit": 20}, name="search")

    @task(3)
    def repo_page(self) -> None:
        self.client.get(f"/api/models/{self._repo()}", name="repo page")

    @task(2)
    def tree(self) -> None:
        self.client.get(f"/api/models/{self._repo()}/tree/main", name="tree")

    @task(1)
    def download(self) -> None:
        with self.client.get(
            f"/{self._repo()}/resolve/main/{self.file}", name="download", stream=True, catch_response=True
        ) as r:
            size = sum(len(chunk) for chunk in r.iter_content(1 << 20))
            if r.ok and size != int(r.headers.get("content-length", size)):
                r.failure(f"short download: {size} bytes")

    @task(1)
    def comment(self) -> None:
        self.client.post(
            f"/api/models/{self._repo()}/discussions/1/comment",
            json={"comment": f"{self.me}: looks good at step {self.commits}"},
            name="comment",
        )

    @task(1)
    def commit(self) -> None:
        self.commits += 1
        content = f"{self.me} step {self.commits} loss {random.random():.4f}\n".encode()
        lines = [
            {"key": "header", "value": {"summary": f"{self.me}: step {self.commits}", "description": ""}},
            {
                "key": "file",
                "value": {
                    "path": f"runs/{self.me}.txt",
                    "content": base64.b64encode(content).decode(),
                    "encoding": "base64",
                },
            },
        ]
        self.client.post(
            f"/api/models/{self._repo()}/commit/main",
            data="\n".join(json.dumps(line) for line in lines).encode(),
            headers={"Content-Type": "application/x-ndjson"},
            name="commit",
        )


def measure(
    host: str, users: int, seconds: float, *, ready: Path | None = None, stop: Path | None = None
) -> dict[str, Any]:
    """Run ``users`` team members for ``seconds`` after they all started; stats per operation.

    ``ready``: a file written once every user runs (statistics reset); ``stop``: a file whose
    appearance ends the step before ``seconds``, so another measurement can run under the load.
    """
    env = Environment(user_classes=[TeamMember], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=min(max(users, 1), 100))  # all started within a second
    while runner.user_count < users:
        gevent.sleep(0.05)
    gevent.sleep(1)  # every user past its first request
    env.stats.reset_all()
    print(f"step-start {users}", flush=True)  # bench/load.py samples CPU per process on these
    t0 = time.monotonic()
    if ready is not None:
        ready.write_text(f"{users}\n")
    while time.monotonic() - t0 < seconds and not (stop is not None and stop.exists()):
        gevent.sleep(0.1)
    elapsed = time.monotonic() - t0
    print(f"step-end {users}", flush=True)
    snapshot = {name: _entry(env.stats.get(name, method), elapsed) for name, method in OPERATIONS.items()}
    snapshot["all"] = _entry(env.stats.total, elapsed)
    runner.quit()
    return {"users": users, "seconds": round(elapsed, 2), "operations": snapshot}


def _entry(stats: Any, elapsed: float) -> dict[str, Any]:
    n = stats.num_requests
    return {
        "requests": n,
        "errors": stats.num_failures,
        "rps": round(n / elapsed, 2),
        "p50_ms": stats.get_response_time_percentile(0.5) if n else None,
        "p95_ms": stats.get_response_time_percentile(0.95) if n else None,
        "p99_ms": stats.get_response_time_percentile(0.99) if n else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_users", description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--repos", required=True, help="comma-separated model repos to use")
    parser.add_argument("--download", default="weights.bin", help="file of each repo to download")
    parser.add_argument("--users", default="10,25,50")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ready", type=Path, help="file written when the last step's users all run")
    parser.add_argument("--stop", type=Path, help="file whose appearance ends the last step early")
    args = parser.parse_args(argv)
    TeamMember.repos = args.repos.split(",")
    TeamMember.token = args.token
    TeamMember.file = args.download
    counts = [int(n) for n in args.users.split(",")]
    steps = [measure(args.host, n, args.seconds) for n in counts[:-1]]
    steps.append(measure(args.host, counts[-1], args.seconds, ready=args.ready, stop=args.stop))
    args.out.write_text(json.dumps(steps, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
