"""Fixtures of the webhook test modules: a hub that may deliver to a loopback receiver, and
the receiver (``tests.support.webhooks``). Each module that asks gets its own.

The hub allows its loopback receiver with ``WORKBENCH_WEBHOOK_ALLOWED_HOSTS=127.0.0.1`` and
gives up on a delivery after one second (``WORKBENCH_WEBHOOK_TIMEOUT_SECONDS=1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import HubProcess
from tests.support.webhooks import Receiver


@pytest.fixture(scope="module")
def hook_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    env = {"WORKBENCH_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WORKBENCH_WEBHOOK_TIMEOUT_SECONDS": "1"}
    hub = HubProcess(Path(tmp_path_factory.mktemp("webhooks")), env=env).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
