"""The one exception hierarchy shared by the hub, the store and the client.

Every error has a stable ``code`` (sent as ``X-Error-Code``) and an HTTP ``status``.
The Hugging Face clients read some codes (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``) to raise their own typed errors, so those names are fixed.

>>> raise RepoNotFound("Repository demo/x not found")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """Root of every error Workbench raises on purpose."""

    code = "WorkbenchError"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class CachedCopyWarning(UserWarning):
    """A load used the commit a revision named when last asked, from the local cache,
    because the hub could not be reached (the hub's answer is otherwise always asked)."""


class NotFound(WorkbenchError, LookupError):
    code = "NotFound"
    status = 404


class RepoNotFound(NotFound):
    code = "RepoNotFound"


class RevisionNotFound(NotFound):
    code = "RevisionNotFound"


class EntryNotFound(NotFound):
    code = "EntryNotFound"


class InvalidRequest(WorkbenchError, ValueError):
    code = "InvalidRequest"
    status = 400


class PayloadTooLarge(InvalidRequest):
    code = "PayloadTooLarge"
    status = 413


class RangeNotSatisfiable(InvalidRequest):
    code = "RangeNotSatisfiable"
    status = 416


class AuthenticationError(WorkbenchError):
    code = "Unauthorized"
    status = 401


class PermissionDenied(WorkbenchError):
    code = "Forbidden"
    status = 403


class Conflict(WorkbenchError):
    code = "Conflict"
    status = 409


class IntegrityError(WorkbenchError, ValueError):
    """Declared hash or size does not match the bytes received."""

    code = "IntegrityError"
    status = 400


class UnsupportedDatabase(WorkbenchError):
    """The metadata store runs on a database other than SQLite or PostgreSQL."""

    code = "UnsupportedDatabase"
    status = 500

    def __init__(self, dialect: str) -> None:
        super().__init__(
            f"Workbench's metadata store runs on SQLite or PostgreSQL, not {dialect!r}: "
            "set --database-url to a sqlite:/// or postgresql+psycopg:// URL."
        )


class ExecutionError(WorkbenchError):
    """A notebook cell failed; carries the failing cell."""

    code = "ExecutionError"
    status = 422


_BY_CODE: dict[str, type[WorkbenchError]] = {}


def _register(cls: type[WorkbenchError]) -> None:
    _BY_CODE.setdefault(cls.code, cls)
    for sub in cls.__subclasses__():
        _register(sub)


_register(WorkbenchError)


def error_class_for(code: str | None, status: int) -> type[WorkbenchError]:
    """Map an ``X-Error-Code`` (or a bare status) back to the exception class."""
    if code and code in _BY_CODE:
        return _BY_CODE[code]
    for cls in (
        NotFound,
        AuthenticationError,
        PermissionDenied,
        Conflict,
        PayloadTooLarge,
        RangeNotSatisfiable,
        InvalidRequest,
    ):
        if cls.status == status:
            return cls
    return WorkbenchError
