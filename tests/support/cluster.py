"""A team hub as docs/deploy.md describes it: several ``workbench hub serve`` processes, each
with its own data folder, one PostgreSQL database, one S3 bucket, nginx in front.

The first process's data folder runs ``workbench hub init`` once (schema, admin user), as
operators do before starting several processes; every process gets the same environment
(database, bucket, ``secret_key``), and nginx is configured from docs/deploy.md.

>>> team = TeamHub(tmp_path, database_url=url, bucket=bucket, processes=3).start()  # doctest: +SKIP
>>> HfApi(endpoint=team.url, token=team.token)                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.hub import HubProcess
from tests.support.nginx import Nginx
from tests.support.s3 import S3Bucket

__all__ = ["TeamHub"]


class TeamHub:
    """``start()`` the processes and nginx; ``url`` and ``token`` are what clients use."""

    def __init__(
        self,
        root: Path,
        *,
        database_url: str,
        bucket: S3Bucket,
        processes: int = 3,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.env = bucket.hub_env(
            WORKBENCH_DATABASE_URL=database_url,
            WORKBENCH_SECRET_KEY=secrets.token_hex(32),  # the same on every process
            **(env or {}),
        )
        self.hubs = [HubProcess(self.root / f"hub{i}", env=self.env) for i in range(processes)]
        self.proxy = Nginx([h.url for h in self.hubs])
        self.token = ""

    @property
    def url(self) -> str:
        return self.proxy.url

    def pids(self) -> set[int]:
        """The process ids of the hubs that run now."""
        return {h.proc.pid for h in self.hubs if h.proc is not None and h.proc.poll() is None}

    def start(self) -> TeamHub:
        first = self.hubs[0]
        first.root.mkdir(parents=True, exist_ok=True)
        init = first.cli("hub", "init", check=False)
        if init.returncode != 0:
            raise RuntimeError(f"workbench hub init exited {init.returncode}:\n{init.stdout}{init.stderr}")
        self.token = json.loads((first.config_home / "workbench" / "config.json").read_text())["token"]
        try:
            with ThreadPoolExecutor(len(self.hubs)) as pool:
                list(pool.map(lambda h: h.start(timeout=60), self.hubs))
            self.proxy.start()
        except BaseException:
            self.stop()
            raise
        for h in self.hubs:
            h.token = self.token
        return self

    def stop(self) -> None:
        self.proxy.stop()
        for h in self.hubs:
            h.stop()

    def cli(self, *args: str, check: bool = True) -> str:
        """``workbench ARGS`` with the hubs' settings (fsck, gc...), from the first data folder."""
        out = self.hubs[0].cli(*args, check=False)
        if check and out.returncode != 0:
            raise AssertionError(
                f"workbench {' '.join(args)} exited {out.returncode}:\n{out.stdout}{out.stderr}"
            )
        return out.stdout
