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
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
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
QUEUED_PER_SENDER = 8  # deliveries claimed ahead per sender: one transaction serves many
PRUNE_SECONDS = 60.0  # how often the delivery logs are cut to their last 100
KEPT_CLIENTS = 64  # receivers whose connections are kept open (the others get one each time)
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


def new_client(timeout: float, tls: ssl.SSLContext | None = None) -> httpx.Client:
    """A client as deliveries need it: no redirects, no proxies from the environment."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False, verify=tls or True
    )


def send(
    job: DeliveryJob,
    *,
    base: str,
    allowed: frozenset[str],
    timeout: float,
    clients: Callable[[str], httpx.Client | None] = lambda host: None,
) -> Attempt:
    """POST one delivery; never raises. ``clients(host)``: a client kept for that host name
    (its connections are reused for that host only, whose certificate they were opened
    for), or None for a client of this request only."""
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
    kept = clients(f"{target.scheme}://{target.host}:{target.port}")
    try:
        with (
            nullcontext(kept) if kept is not None else new_client(timeout) as client,
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
    """The dispatcher thread and ``settings.webhook_workers`` senders, until :meth:`stop`.

    One write transaction per round, every :data:`POLL_SECONDS` (sooner when every claimed
    delivery is done), records the outcomes senders finished, fans new events out and claims
    up to :data:`QUEUED_PER_SENDER` deliveries per sender: with SQLite's single writer, every
    transaction here is one that a commit may wait for, so there are few, and each does much.
    """

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self.store = store
        self.settings = settings
        self.allowed = allowed_hosts(settings.webhook_allowed_hosts)
        self.base = base_url(settings)
        self.timeout = settings.webhook_timeout_seconds
        self.tls = ssl.create_default_context()  # once: building one per request costs ~10 ms
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._capacity = settings.webhook_workers * QUEUED_PER_SENDER
        self._free = self._capacity
        self._done: list[tuple[DeliveryJob, Attempt]] = []
        self._clients: dict[str, httpx.Client] = {}
        self._next_prune = time.monotonic() + PRUNE_SECONDS
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.settings.webhook_workers, thread_name_prefix="wb-webhook")
        self._thread = threading.Thread(target=self._loop, name="wb-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()

    def _loop(self) -> None:
        log.info("webhook dispatcher started (%d senders)", self.settings.webhook_workers)
        while not self._stop.is_set():
            try:
                self._round()
            except OperationalError as exc:  # the database restarts or is away: it comes back
                log.warning("webhook dispatch: the database does not answer (%s)", exc.orig)
            except Exception:
                log.exception("webhook dispatch failed")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
        try:
            self._round(claim=False)  # what finished meanwhile; the rest is left to leases
        except Exception:
            log.exception("webhook dispatch: could not record the last outcomes")

    def _round(self, *, claim: bool = True) -> None:
        with self._lock:
            done, self._done = self._done, []
            free = self._free if claim else 0
        if not done:
            with self.store.read() as s:
                if not free or not queue.has_work(s):
                    return
        try:
            jobs = self._transaction(done, free)
        except BaseException:
            with self._lock:  # recorded next round; deliveries claimed meanwhile stay claimed
                self._done[:0] = done
            raise
        if jobs:
            assert self._pool is not None
            with self._lock:
                self._free -= len(jobs)
            for job in jobs:
                self._pool.submit(self._deliver, job)

    def _transaction(self, done: list[tuple[DeliveryJob, Attempt]], free: int) -> list[DeliveryJob]:
        """Record ``done``, fan out, claim up to ``free``: one write transaction."""
        jobs: list[DeliveryJob] = []
        with self.store.write() as s:
            statuses = queue.record(s, done) if done else []
            if free:
                queue.fan_out(s)
                # a claimed delivery may wait for the ones queued before it on its sender
                lease = self.timeout * (QUEUED_PER_SENDER + 1) + 30
                jobs = queue.claim(s, limit=free, lease_seconds=lease)
            if time.monotonic() >= self._next_prune:
                queue.prune(s)
                self._next_prune = time.monotonic() + PRUNE_SECONDS
        for (job, attempt), status in zip(done, statuses, strict=True):
            log.info(
                "webhook delivery %s (attempt %d): %s in %d ms, %s",
                job.public_id,
                job.attempt,
                attempt.status or "no answer",
                attempt.duration_ms,
                status,
            )
        return jobs

    def _client(self, origin: str) -> httpx.Client | None:
        with self._lock:
            client = self._clients.get(origin)
            if client is None and len(self._clients) < KEPT_CLIENTS:
                client = self._clients[origin] = new_client(self.timeout, self.tls)
            return client

    def _deliver(self, job: DeliveryJob) -> None:
        try:
            attempt = send(
                job, base=self.base, allowed=self.allowed, timeout=self.timeout, clients=self._client
            )
        except Exception as exc:  # send never raises; should it, the delivery is retried
            log.exception("webhook delivery %s failed", job.public_id)
            attempt = Attempt(None, 0, f"Internal error: {type(exc).__name__}.", retry=True)
        with self._lock:
            self._done.append((job, attempt))
            self._free += 1
            idle = self._free == self._capacity
        if idle:  # the last of a batch: record it now and take more
            self._wake.set()
