"""Xet access tokens and signed xorb URLs: short-lived, scoped to one repo, stateless.

A token names its scope (``read`` or ``write``), the repo's database id (or ``b`` and a
storage bucket's id) and its expiry, and
carries an HMAC of those under the hub's key, so any hub process can check it without a
database row. Xorb byte ranges handed to downloading clients are signed URLs in the same way
(the client fetches them without a token, as it would a pre-signed bucket URL).

>>> token = issue(signer, "write", 7, expires=2_000_000_000)   # doctest: +SKIP
>>> check(signer, token).repo_id                                # doctest: +SKIP
7
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from workbench.errors import AuthenticationError, PermissionDenied
from workbench.hub.signing import Signer

TOKEN_TTL = 3600
URL_TTL = 3600
_PREFIX = "xet1"


@dataclass(frozen=True)
class XetGrant:
    scope: str  # read | write
    repo_id: int | None
    expires: int
    bucket_id: int | None = None  # a bucket's token names no repo


def _target(repo_id: int | None, bucket_id: int | None) -> str:
    return f"b{bucket_id}" if bucket_id is not None else str(repo_id)


def issue(
    signer: Signer, scope: str, repo_id: int | None, *, expires: int, bucket_id: int | None = None
) -> str:
    """A token for a repo's Xet files, or (``bucket_id``) a storage bucket's."""
    target = _target(repo_id, bucket_id)
    payload = f"{scope}:{target}:{expires}"
    signature = signer.sign(_PREFIX, scope, target, expires=expires)
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{_PREFIX}.{encoded}.{signature}"


def check(signer: Signer, token: str | None, *, now: float | None = None) -> XetGrant:
    """The grant a Xet token carries; 401 when it is missing, forged or expired."""
    if not token:
        raise AuthenticationError("A Xet access token is required.", code="XetTokenRequired")
    try:
        prefix, encoded, signature = token.split(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        scope, target, expires = payload.split(":")
        bucket = target.startswith("b")
        number = int(target[1:] if bucket else target)
        grant = XetGrant(
            scope=scope,
            repo_id=None if bucket else number,
            expires=int(expires),
            bucket_id=number if bucket else None,
        )
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationError("Malformed Xet access token.", code="XetTokenInvalid") from None
    if prefix != _PREFIX or grant.scope not in ("read", "write"):
        raise AuthenticationError("Malformed Xet access token.", code="XetTokenInvalid")
    if grant.expires < (time.time() if now is None else now):
        raise AuthenticationError("The Xet access token has expired.", code="XetTokenExpired")
    try:
        target = _target(grant.repo_id, grant.bucket_id)
        signer.check(_PREFIX, grant.scope, target, expires=grant.expires, signature=signature)
    except PermissionDenied:
        raise AuthenticationError("Invalid Xet access token.", code="XetTokenInvalid") from None
    return grant


def require_write(grant: XetGrant) -> None:
    if grant.scope != "write":
        raise PermissionDenied("This Xet token may only read.", code="XetTokenReadOnly")
