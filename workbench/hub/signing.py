"""HMAC-signed URLs for LFS uploads, whose PUTs carry no Authorization header
(docs/hf-protocol.md, "git-LFS").

>>> signer = Signer(b"k" * 32)
>>> sig = signer.sign("upload", "ab" * 32, 10, expires=2_000_000_000)
>>> signer.check("upload", "ab" * 32, 10, expires=2_000_000_000, signature=sig)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path

from workbench.errors import PermissionDenied


class Signer:
    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def from_settings(cls, secret: str | None, data_dir: Path) -> Signer:
        if secret:
            return cls(secret.encode())
        path = data_dir / "secret.key"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(secrets.token_bytes(32))
            tmp.chmod(0o600)
            try:
                tmp.rename(path) if not path.exists() else tmp.unlink()
            except OSError:
                tmp.unlink(missing_ok=True)
        return cls(path.read_bytes())

    def sign(self, *parts: object, expires: int) -> str:
        msg = "\x00".join(str(p) for p in (*parts, expires)).encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()

    def check(self, *parts: object, expires: int, signature: str) -> None:
        if expires < time.time():
            raise PermissionDenied(
                "This upload URL has expired; request a new one through the LFS batch API.", code="UrlExpired"
            )
        # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, i.e. a 500)
        if not hmac.compare_digest(self.sign(*parts, expires=expires).encode(), (signature or "").encode()):
            raise PermissionDenied("Invalid upload URL signature.", code="InvalidSignature")
