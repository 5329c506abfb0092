"""The fixtures huggingface_hub's tests take from their ``tests/conftest.py``.

The source archive does not ship that file, yet test modules import ``RepoFactory`` from
it, so ``run.py`` copies this one in its place. Written from how the tests use each fixture;
every fixture talks to the hub the (patched) staging constants name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huggingface_hub import HfApi, RepoUrl
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import _auth

from . import testing_constants as constants
from .testing_utils import repo_name


class RepoFactory:
    """Create repos for a test and delete them afterwards.

    >>> repo_factory("dataset", private=True).repo_id   # doctest: +SKIP
    'DummyHubUser/repo-...'
    """

    def __init__(self) -> None:
        self.created: list[tuple[HfApi, str, str]] = []

    def __call__(
        self,
        repo_type: str = "model",
        *,
        repo_id: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> RepoUrl:
        api = HfApi(endpoint=constants.ENDPOINT_STAGING, token=token or constants.TOKEN)
        url = api.create_repo(repo_id or repo_name(), repo_type=repo_type, **kwargs)
        self.created.append((api, url.repo_id, repo_type))
        return url

    def cleanup(self) -> None:
        for api, repo_id, repo_type in reversed(self.created):
            try:
                api.delete_repo(repo_id, repo_type=repo_type, missing_ok=True)
            except Exception:  # a test may have moved or deleted it already
                pass


@pytest.fixture(scope="session")  # class-scoped fixtures of the suite use it too
def api() -> HfApi:
    return HfApi(endpoint=constants.ENDPOINT_STAGING, token=constants.TOKEN)


@pytest.fixture(autouse=True)
def _own_token_files(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts logged out, as on the suite's CI: tests that log in write the token
    files, and the client caches the token it last read from them."""
    home = tmp_path_factory.mktemp("token")
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(_auth, "_OAUTH_REFRESH_CACHE", None)


@pytest.fixture
def repo_factory() -> Iterator[RepoFactory]:
    factory = RepoFactory()
    yield factory
    factory.cleanup()


@pytest.fixture
def new_repo_id(api: HfApi) -> Iterator[str]:
    """A repo id under USER that the test creates (e.g. by pushing); deleted afterwards."""
    repo_id = f"{constants.USER}/{repo_name()}"
    yield repo_id
    api.delete_repo(repo_id, missing_ok=True)
