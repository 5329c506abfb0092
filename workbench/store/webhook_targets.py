"""Where a webhook may send: the one home of the rule that keeps webhooks off internal hosts.

A webhook makes the hub send requests on a user's behalf, so its URL must not reach what only
the hub can reach (loopback, the cloud metadata service at 169.254.169.254, private ranges):
the URL must be ``http(s)`` and every address its host resolves to must be public (Python's
``ipaddress`` ``is_global``). Hosts listed in ``webhook_allowed_hosts`` (an exact host name or
address) are let through. The check runs when a webhook is saved (:func:`check_url`, 400 on
refusal) and again before every delivery (:func:`delivery_address`), which also returns the
address to connect to, so a name that resolves elsewhere by then (DNS rebinding) is caught
and the connection goes to the address that was checked.

>>> check_url("ftp://example.org/x", allowed_hosts=frozenset())    # doctest: +SKIP
InvalidRequest: ... (code InvalidWebhookUrl)
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from workbench.errors import InvalidRequest

MAX_URL_CHARS = 2000
SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Target:
    """A checked URL: its host and port, and the address to connect to (None: the host is
    allow-listed, connect by name)."""

    scheme: str
    host: str
    port: int
    address: str | None


def allowed_hosts(setting: str) -> frozenset[str]:
    """``webhook_allowed_hosts`` (comma-separated) as a set of lower-case hosts.

    >>> sorted(allowed_hosts(" 127.0.0.1, Hooks.Internal "))
    ['127.0.0.1', 'hooks.internal']
    """
    return frozenset(h.strip().lower().strip("[]") for h in setting.split(",") if h.strip())


def _refused(url: str, reason: str) -> InvalidRequest:
    return InvalidRequest(
        f"Webhook URL {url!r} refused: {reason}. A hub administrator may allow a host with "
        "the setting webhook_allowed_hosts.",
        code="WebhookUrlRefused",
        reason=reason,
    )


def _parse(url: object) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_CHARS:
        raise InvalidRequest(
            f"A webhook needs an http(s) URL of at most {MAX_URL_CHARS} characters.", code="InvalidWebhookUrl"
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(f"Invalid webhook URL {url!r}: {exc}.", code="InvalidWebhookUrl") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidRequest(
            f"Invalid webhook URL {url!r}: only http:// and https:// URLs are sent to, "
            f"not {scheme + '://' if scheme else 'a URL without a scheme'}.",
            code="InvalidWebhookUrl",
            reason="scheme",
        )
    if not parts.hostname:
        raise InvalidRequest(f"Invalid webhook URL {url!r}: it names no host.", code="InvalidWebhookUrl")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest(
            f"Invalid webhook URL {url!r}: credentials in the URL are not sent; use the secret.",
            code="InvalidWebhookUrl",
        )
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _blocked(address: str) -> str | None:
    """Why ``address`` may not be sent to, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"{address} is a loopback address"
    if ip.is_unspecified:
        return f"{address} is not a public address"
    if ip.is_link_local:
        return f"{address} is a link-local address"
    if ip.is_private:
        return f"{address} is in a private range"
    if ip.is_multicast or ip.is_reserved or not ip.is_global:
        return f"{address} is not a public address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: object, *, allowed_hosts: frozenset[str]) -> str:
    """The URL, stripped, when a webhook may be saved with it; else ``InvalidRequest``
    (``InvalidWebhookUrl``: not an http(s) URL; ``WebhookUrlRefused``: an internal address).

    A host that does not resolve now is accepted: nothing internal can be reached through
    it today, and every delivery checks again.
    """
    _, host, port = _parse(url)
    assert isinstance(url, str)
    if host in allowed_hosts:
        return url.strip()
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        return url.strip()
    for address in addresses:
        reason = _blocked(address)
        if reason:
            raise _refused(url, reason)
    return url.strip()


def delivery_address(url: str, *, allowed_hosts: frozenset[str]) -> Target:
    """Check ``url`` again, now, and choose the address to connect to; raises
    ``InvalidRequest`` (refused) or ``OSError`` (the host does not resolve)."""
    scheme, host, port = _parse(url)
    if host in allowed_hosts:
        return Target(scheme, host, port, None)
    addresses = _resolve(host, port)
    for address in addresses:
        reason = _blocked(address)
        if reason:
            raise _refused(url, reason)
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    return Target(scheme, host, port, addresses[0])
