"""The one exception hierarchy shared by the hub, the store and the client.

Every error has a stable ``code`` (sent as ``X-Error-Code``) and an HTTP ``status``.
The Hugging Face clients read some codes (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``, ``GatedRepo``) to raise their own typed errors, so those names are fixed.

:data:`CODES` lists every code Workbench sends or raises, once, with the class the client
raises for it; ``docs/errors.md`` says what each means and what to do, and
``tests/project/test_error_codes.py`` keeps the code, the registry and the table in step.

>>> raise RepoNotFound("Repository demo/x not found")  # doctest: +SKIP
>>> error_class_for("InvalidField", 400)
<class 'workbench.errors.InvalidRequest'>
"""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """Root of every error Workbench raises on purpose."""

    code = "WorkbenchError"
    status = 500
    #: The public hub's text for this error where the HF clients print it beside their own
    #: (HF-protocol routes send it; the full message goes in the body's ``message``).
    hf_message: str | None = None

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
    # the HF clients' "Repository Not Found for url: ..." already holds it, so shows it once
    hf_message = "Repository not found"


class RevisionNotFound(NotFound):
    code = "RevisionNotFound"


class EntryNotFound(NotFound):
    code = "EntryNotFound"


class InvalidRequest(WorkbenchError, ValueError):
    code = "InvalidRequest"
    status = 400


class InvalidPath(InvalidRequest):
    """A file path that may not be in a repo (absolute, ``..``, ``\\``, ...): 422, as the
    public hub answers."""

    code = "InvalidPath"
    status = 422


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


class GatedRepo(PermissionDenied):
    """A gated repo's files, asked for by someone whose access request is not accepted: 403
    (401 without a token), ``X-Error-Code: GatedRepo``, which the HF clients raise as
    ``GatedRepoError``. The repo itself stays visible."""

    code = "GatedRepo"


class MethodNotAllowed(InvalidRequest):
    code = "MethodNotAllowed"
    status = 405


class Conflict(WorkbenchError):
    code = "Conflict"
    status = 409


class ServiceUnavailable(WorkbenchError):
    """Something the hub depends on (its database, its blob store) does not answer: 503 with
    ``Retry-After``, so that clients retry rather than give up."""

    code = "ServiceUnavailable"
    status = 503
    retry_after = 5


class InsufficientStorage(WorkbenchError):
    """The hub's disk (its temporary folder, where uploads are spooled, or its database) is
    full: 507, and nothing of the request was kept."""

    code = "InsufficientStorage"
    status = 507


class RequestBodyTimeout(InvalidRequest):
    """The request body came too slowly (``request_body_timeout_seconds``): 408, and nothing
    of the request was kept."""

    code = "RequestBodyTimeout"
    status = 408


class PreconditionFailed(Conflict):
    """The request was made against a state that is no longer current (a stale parent commit):
    412, as the public hub answers, so the HF clients see the status they expect."""

    code = "PreconditionFailed"
    status = 412


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


class HubConnectionError(WorkbenchError, ConnectionError):
    """The connection to the hub broke off (the client side of a request; never sent)."""

    code = "HubConnectionError"
    status = 502


class HubUnreachable(HubConnectionError):
    """Nothing answers at the hub's address: it is not running, or the URL is wrong."""

    code = "HubUnreachable"


class HubTimeout(WorkbenchError, TimeoutError):
    """The hub accepted the connection but did not answer in time."""

    code = "HubTimeout"
    status = 504


def _codes(cls: type[WorkbenchError], names: str) -> dict[str, type[WorkbenchError]]:
    return dict.fromkeys(names.split(), cls)


#: Every error code Workbench sends (``X-Error-Code``, ``{"error": {"code"}}``) or raises in
#: the caller's process, with the class the client raises for it; the class's ``status`` is
#: the HTTP status the hub answers with. What each means: ``docs/errors.md``.
CODES: dict[str, type[WorkbenchError]] = {
    **_codes(
        WorkbenchError,
        "HttpError InternalError LfsBatchMismatch LfsPartWithoutEtag XetTokenMalformed XetTransferFailed",
    ),
    **_codes(UnsupportedDatabase, "UnsupportedDatabase"),
    **_codes(HubConnectionError, "HubConnectionError"),
    **_codes(HubUnreachable, "HubUnavailable HubUnreachable"),
    **_codes(HubTimeout, "HubTimeout"),
    **_codes(
        NotFound,
        "CollectionItemNotFound CollectionNotFound "
        "AccessRequestNotFound "
        "AccountNotFound CellNotFound ColumnNotFound CommentNotFound ConfigNotFound "
        "ConversionNotFound "
        "DeliveryNotFound DiscussionNotFound EvalRunNotFound JobNotFound RunnerNotFound "
        "LfsFileNotFound MemberNotFound "
        "ModelClassNotFound NamespaceNotFound NotebookNotFound NotFound OrgNotFound "
        "PaperNotFound PublishNotFound RowNotFound RunNotFound SplitNotFound TokenNotFound UserNotFound "
        "WebhookNotFound XetObjectMissing",
    ),
    **_codes(RepoNotFound, "RepoNotFound"),
    **_codes(RevisionNotFound, "RevisionNotFound"),
    **_codes(EntryNotFound, "EntryNotFound"),
    **_codes(InvalidPath, "InvalidPath"),
    **_codes(
        InvalidRequest,
        "DescriptionTooLong InvalidItemType InvalidTheme NoteTooLong "
        "AlreadyHasAccess AnchorNotInDiff RepoNotGated "
        "ChunkRangeOutOfBounds DefaultBranch DuplicatePath EmptyComment EmptySplit EmptyTitle "
        "ExportFailed InconsistentRun InvalidAnchor InvalidBinderSource InvalidCommit "
        "InvalidEvalSuite InvalidLabel InvalidRunnerName RecordPinsDiffer "
        "InvalidConfig InvalidDataset InvalidDomain InvalidExample InvalidExecutor InvalidField "
        "InvalidFilter InvalidGateSpec InvalidHubUrl InvalidJobs InvalidJson InvalidLink "
        "InvalidMetric InvalidNotebook InvalidOid InvalidPaper InvalidParameter InvalidParquet "
        "InvalidPart InvalidPolicy InvalidRange InvalidRef InvalidRepoId "
        "InvalidRepoName InvalidRepoType InvalidRequest InvalidRole InvalidSafetensors "
        "InvalidExpiry InvalidScope InvalidSetting InvalidSort InvalidTokenLimit "
        "InvalidSplit InvalidStatus InvalidSupplement InvalidTokenName "
        "InvalidWatchedItem InvalidWebhookUrl InvalidYaml "
        "LfsObjectMissing LoadFailed MalformedBody MalformedCommit MalformedShard "
        "MalformedXorb MissingDependency MissingField MissingParameter MissingParts "
        "MissingPin MissingVerification NoEnvironment NoModelClass NoSafeWeights NoSplits "
        "NotABackup NotABranch NotAModel NotANotebook NotAPullRequest NotAReproduction "
        "NotebookTooLarge NotebookWithoutCellIds NothingToMerge NothingToUpload NotYourRerun PathConflict "
        "QueryTimeout ReproductionPinsDiffer ReservedNamespace RewriteHistoryRequired RunNotSucceeded "
        "SearchNotSupported StatusIsDerived StatusUnchanged SupplementNotFound "
        "TermSizeMismatch TitleTooLong TooManyWebhooks UnknownSplit UnsafePath UnsafeProgram "
        "UnsupportedOperation WebhookUrlRefused WeightsMismatch WrongRepoType XorbNotFound",
    ),
    **_codes(PayloadTooLarge, "CommentTooLong PayloadTooLarge QuotaExceeded"),
    **_codes(
        ServiceUnavailable, "BlobCopyFailed DatabaseUnavailable JupyterHubUnavailable StorageUnavailable"
    ),
    **_codes(InsufficientStorage, "InsufficientStorage"),
    **_codes(RequestBodyTimeout, "RequestBodyTimeout"),
    **_codes(RangeNotSatisfiable, "RangeNotSatisfiable"),
    **_codes(MethodNotAllowed, "MethodNotAllowed"),
    **_codes(IntegrityError, "HashMismatch IntegrityError SizeMismatch"),
    **_codes(
        AuthenticationError,
        "AccountDisabled ExternalUserRefused InvalidToken JupyterHubScopeMissing TokenExpired "
        "TokenRequired TokenRevoked Unauthorized "
        "XetTokenExpired XetTokenInvalid XetTokenRequired",
    ),
    **_codes(
        PermissionDenied,
        "AccessRejected "
        "AdminRequired CommentForbidden DiscussionLocked OwnApproval InvalidSignature NamespaceForbidden "
        "NotAuthor NotCommentAuthor NotOrgMember NotRecordOwner NoWriteAccess "
        "RunnerRerunRequired RunnerTokenRefused RunnerTokenRequired "
        "OrgAdminRequired ProxyRefused ReadOnlyToken TokenScopeForbidden UrlExpired WriteForbidden "
        "XetTokenReadOnly",
    ),
    **_codes(GatedRepo, "GatedRepo"),
    **_codes(
        Conflict,
        "CollectionExists CollectionItemExists "
        "AccountExists AccountInUse ApprovalsRequired CommentHidden CommitContention Conflict "
        "JobFinished LeaseLost RunnerExists "
        "ConversionFailed DestinationNotEmpty ExportFolderNotEmpty GcRunning LastOrgAdmin MergeConflict "
        "PullRequestClosed PullRequestMerged RefExists RepoExists RerunNotFinished TargetNotEmpty "
        "ViewerNotReady",
    ),
    **_codes(PreconditionFailed, "StaleParentCommit"),
}

_BY_STATUS: tuple[type[WorkbenchError], ...] = (
    NotFound,
    AuthenticationError,
    PermissionDenied,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    RangeNotSatisfiable,
    MethodNotAllowed,
    ServiceUnavailable,
    InsufficientStorage,
    RequestBodyTimeout,
    InvalidRequest,
)


def error_class_for(code: str | None, status: int) -> type[WorkbenchError]:
    """The class for an ``X-Error-Code`` and HTTP status: the code's class in :data:`CODES`
    where its status agrees, else the class for the status (a code some route sends with
    another status, or one this version does not know)."""
    cls = CODES.get(code or "")
    if cls is not None and cls.status == status:
        return cls
    for candidate in _BY_STATUS:
        if candidate.status == status:
            return candidate
    return cls or WorkbenchError
