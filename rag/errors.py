"""Why an upload or an ingestion was refused. Each maps to a 4xx with `detail` through the project's handler."""

from realtime_chat.core.errors import ApplicationError, Conflict


class DocumentEmpty(ApplicationError):
    code = "document_empty"


class TooManyFiles(ApplicationError):
    code = "too_many_files"


class DocumentTooLarge(ApplicationError):
    status_code = 413
    code = "document_too_large"


class UnsupportedDocumentType(ApplicationError):
    status_code = 415
    code = "unsupported_document_type"


class DocumentUnreadable(ApplicationError):
    """Encrypted, corrupt, a zip bomb, a parser that crashed or hung, or no extractable text."""

    status_code = 422
    code = "document_unreadable"


class DuplicateDocument(Conflict):
    code = "duplicate_document"


class DocumentBusy(Conflict):
    code = "document_busy"


class IngestionNotRunning(Conflict):
    """Cancel asked of a document that is not queued or being ingested."""

    code = "not_ingesting"


class IngestionNotRetryable(Conflict):
    """Retry asked of a document whose ingestion neither failed nor was cancelled."""

    code = "not_retryable"


class QuotaExceeded(ApplicationError):
    """The user's documents (count or bytes) would go over their quota (RAG_MAX_*_PER_USER, or the admin's)."""

    status_code = 413
    code = "quota_exceeded"
