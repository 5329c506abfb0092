"""Helpers for the kernel-helper tests (``tests/test_kernel_*.py``): demo content, users.

>>> seed_demo(hub)                       # doctest: +SKIP
>>> bob = make_user(hub)                 # doctest: +SKIP
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from workbench.cli.demo_content import build_demo
from workbench.client import HubClient
from workbench.config import HubSettings
from workbench.store.accounts import create_token, create_user
from workbench.store.store import Store

DEMO_NAMESPACE = "admin"


def unique(prefix: str) -> str:
    """A fresh repo id under the admin user."""
    return f"admin/{prefix}-{secrets.token_hex(3)}"


def seed_demo(hub, namespace: str = DEMO_NAMESPACE) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Publish the demo model, dataset and paper (idempotent); ``{type: repo_id}``."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp, HubClient(hub.url, hub.token, progress=False) as client:
        for repo in build_demo(Path(tmp), namespace=namespace):
            client.create_repo(repo.repo_id, type=repo.repo_type, exist_ok=True)
            files = {
                p.relative_to(repo.folder).as_posix(): p
                for p in sorted(repo.folder.rglob("*"))
                if p.is_file()
            }
            client.upload(repo.repo_id, files, type=repo.repo_type, message=repo.message)
            out[repo.repo_type] = repo.repo_id
    return out


@dataclass
class User:
    name: str
    token: str  # write scope
    read_token: str


def make_user(hub) -> User:  # type: ignore[no-untyped-def]
    """A second user with a write and a read token, made in the hub's store."""
    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    name = f"bob-{secrets.token_hex(3)}"
    try:
        with store.write() as s:
            user = create_user(s, name)
            return User(
                name, create_token(s, user, "rw", scope="write"), create_token(s, user, "ro", scope="read")
            )
    finally:
        store.close()


class ScaledMLP(nn.Module):
    """A model class importable by module name (``tests.support.kernel``)."""

    def __init__(self, n_inputs: int, hidden: int = 8, n_outputs: int = 2) -> None:
        super().__init__()
        self.init_kwargs = {"n_inputs": n_inputs, "hidden": hidden, "n_outputs": n_outputs}
        self.fc1 = nn.Linear(n_inputs, hidden)
        self.fc2 = nn.Linear(hidden, n_outputs)
        self.register_buffer("scale", torch.full((n_outputs,), 2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x))) * self.scale
