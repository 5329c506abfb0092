"""Sending webhook deliveries: one dispatcher thread and a small pool of senders.

Runs in the hub's job process (:mod:`workbench.viewer.jobs`), never in a request: the
dispatcher polls the queue (:mod:`workbench.store.webhook_queue`) every
:data:`POLL_SECONDS`, fans new events out and hands due deliveries to
``settings.webhook_workers`` sender threads. A sender checks the URL again
(:func:`~workbench.store.webhook_targets.delivery_address`), connects to the address it
checked, POSTs the JSON payload with ``X-Webhook-Secret`` when the webhook has a secret,
follows no redirect, and gives up after ``settings.webhook_timeout_seconds`` in all, so a
receiver that hangs holds one sender for that long and nothing else.

>>> d = WebhookDispatcher(store, settings); d.start(); ...; d.stop()    # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.exc import OperationalError

from workbench.config import HubSettings
from workbench.errors import InvalidRequest
from workbench.store import webhook_queue as queue
from workbench.store.store import Store
from workbench.store.webhook_queue import Attempt, DeliveryJob
from workbench.store.webhook_targets import allowed_hosts, delivery_address
from workbench.version import __version__

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
MAX_RESPONSE_BYTES = 64 * 1024  # read (and dropped): enough to see the receiver answered
RETRY_STATUSES = frozenset({408, 429})


def base_url(settings: HubSettings) -> str:
    """The hub's address in payload URLs (``public_url``, else where it listens)."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def absolute(payload: dict[str, Any], base: str) -> dict[str, Any]:
    """``payload`` with the hub-relative paths of its ``url`` objects made absolute.

    >>> absolute({"repo": {"url": {"web": "/a/b"}}}, "http://hub")
    {'repo': {'url': {'web': 'http://hub/a/b'}}}
    """
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "url" and isinstance(value, dict):
            value = {
                k: f"{base}{v}" if isinstance(v, str) and v.startswith("/") else v for k, v in value.items()
            }
        elif isinstance(value, dict):
            value = absolute(value, base)
        out[key] = value
    return out


def send(job: DeliveryJob, *, base: str, allowed: frozenset[str], timeout: float) -> Attempt:
    """POST one delivery; never raises."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = delivery_address(job.url, allowed_hosts=allowed)
    except InvalidRequest as exc:
        return Attempt(None, took(), exc.message)
    except (OSError, UnicodeError) as exc:
        return Attempt(None, took(), f"Could not resolve the webhook's host: {exc}.", retry=True)
    parts = urlsplit(job.url.strip())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"workbench-webhooks/{__version__}",
        "X-Webhook-Id": str(job.payload.get("webhook", {}).get("id", "")),  # type: ignore[union-attr]
        "X-Webhook-Delivery": job.public_id,
    }
    if job.secret:
        headers["X-Webhook-Secret"] = job.secret
    url, extensions = job.url.strip(), {}
    if target.address is not None:  # connect to the address checked, not to a second lookup
        host = f"[{target.address}]" if ":" in target.address else target.address
        url = urlunsplit(parts._replace(netloc=f"{host}:{target.port}"))
        headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
    body = json.dumps(absolute(job.payload, base)).encode()
    deadline = started + timeout
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False) as client,
            client.stream("POST", url, content=body, headers=headers, extensions=extensions) as response,
        ):
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
                if time.monotonic() > deadline:
                    return Attempt(
                        response.status_code, took(), f"Timed out after {timeout:g} s.", retry=True
                    )
            status = response.status_code
    except httpx.TimeoutException:
        return Attempt(
            None, took(), f"Timed out after {timeout:g} s: the receiver did not answer.", retry=True
        )
    except httpx.HTTPError as exc:
        return Attempt(None, took(), f"{type(exc).__name__}: {exc or 'no answer'}.", retry=True)
    if 200 <= status < 300:
        return Attempt(status, took())
    retry = status >= 500 or status in RETRY_STATUSES
    return Attempt(status, took(), f"The receiver answered {status}.", retry=retry)


class WebhookDispatcher:
    """The dispatcher thread and ``settings.webhook_workers`` senders, until :meth:`stop`."""

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self.store = store
        self.settings = settings
        self.allowed = allowed_hosts(settings.webhook_allowed_hosts)
        self.base = base_url(settings)
        self.timeout = settings.webhook_timeout_seconds
        self._stop = threading.Event()
        self._slots = threading.Semaphore(settings.webhook_workers)
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.settings.webhook_workers, thread_name_prefix="wb-webhook")
        self._thread = threading.Thread(target=self._loop, name="wb-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        log.info("webhook dispatcher started (%d senders)", self.settings.webhook_workers)
        while not self._stop.is_set():
            try:
                busy = self._round()
            except OperationalError as exc:  # the database restarts or is away: it comes back
                log.warning("webhook dispatch: the database does not answer (%s)", exc.orig)
                busy = False
            except Exception:
                log.exception("webhook dispatch failed")
                busy = False
            if not busy:
                self._stop.wait(POLL_SECONDS)

    def _round(self) -> bool:
        """Fan out and hand out what is due; whether anything was done."""
        with self.store.read() as s:
            if not queue.has_work(s):
                return False
        with self.store.write() as s:
            fanned = queue.fan_out(s)
        handed = 0
        while self._slots.acquire(blocking=False):
            job = queue.claim(self.store, lease_seconds=self.timeout * 2 + 30)
            if job is None:
                self._slots.release()
                break
            assert self._pool is not None
            self._pool.submit(self._deliver, job)
            handed += 1
        return bool(fanned or handed)

    def _deliver(self, job: DeliveryJob) -> None:
        try:
            attempt = send(job, base=self.base, allowed=self.allowed, timeout=self.timeout)
            status = queue.record(self.store, job, attempt)
            log.info(
                "webhook delivery %s (attempt %d): %s in %d ms%s",
                job.public_id,
                job.attempt,
                attempt.status or "no answer",
                attempt.duration_ms,
                f", {status}" if status != "succeeded" else "",
            )
        except Exception:
            log.exception("webhook delivery %s failed", job.public_id)
        finally:
            self._slots.release()
