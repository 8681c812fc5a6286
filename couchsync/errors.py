"""The one table of errors: every error couchsync reports is a :class:`CouchError`.

A ``CouchError`` carries the HTTP status, CouchDB's ``error`` string and a ``reason``; the API
middleware turns it into ``{"error": ..., "reason": ...}`` with that status, in exactly one place.
Named subclasses exist for the errors raised from many places; the rest are built with
``CouchError(status, error, reason)``.

Source: CouchDB ``chttpd:error_info/1`` and pouchdb-errors (status, name, message).
"""

from __future__ import annotations


class CouchError(Exception):
    """An error with CouchDB's wire shape: ``{"error": error, "reason": reason}`` at ``status``."""

    status = 500
    error = "unknown_error"
    reason = "Unknown error"

    def __init__(self, reason: str | None = None, *, status: int | None = None, error: str | None = None):
        if reason is not None:
            self.reason = reason
        if status is not None:
            self.status = status
        if error is not None:
            self.error = error
        super().__init__(f"{self.status} {self.error}: {self.reason}")

    def to_json(self) -> dict[str, str]:
        """Returns ``{"error": str, "reason": str}``."""
        return {"error": self.error, "reason": self.reason}


class BadRequest(CouchError):
    status, error, reason = 400, "bad_request", "Bad request"


class InvalidJSON(BadRequest):
    reason = "invalid UTF-8 JSON"


class QueryParseError(CouchError):
    status, error, reason = 400, "query_parse_error", "Invalid query"


class IllegalDocId(CouchError):
    status, error, reason = 400, "illegal_docid", "Illegal document id"


class DocValidation(CouchError):
    status, error, reason = 400, "doc_validation", "Invalid document"


class IllegalDatabaseName(CouchError):
    status, error = 400, "illegal_database_name"


class Unauthorized(CouchError):
    status, error, reason = 401, "unauthorized", "You are not authorized to access this db."


class Forbidden(CouchError):
    status, error, reason = 403, "forbidden", "You are not allowed to access this db."


class NotFound(CouchError):
    status, error, reason = 404, "not_found", "missing"


class DatabaseNotFound(NotFound):
    reason = "Database does not exist."


class MethodNotAllowed(CouchError):
    status, error = 405, "method_not_allowed"

    def __init__(self, allowed: list[str]):
        self.allowed = allowed
        super().__init__("Only " + ",".join(allowed) + " allowed")


class NotAcceptable(CouchError):
    status, error, reason = 406, "not_acceptable", "Not acceptable"


class Conflict(CouchError):
    status, error, reason = 409, "conflict", "Document update conflict."


class Gone(CouchError):
    status, error, reason = 410, "gone", "Gone"


class FileExists(CouchError):
    status, error, reason = 412, "file_exists", "The database could not be created, the file already exists."


class MissingStub(CouchError):
    status, error, reason = 412, "missing_stub", "Invalid attachment stub"


class PreconditionFailed(CouchError):
    status, error, reason = 412, "precondition_failed", "Precondition failed"


class DocumentTooLarge(CouchError):
    status, error = 413, "document_too_large"


class TooLarge(CouchError):
    status, error, reason = 413, "too_large", "the request entity is too large"


class BadContentType(CouchError):
    status, error, reason = 415, "bad_content_type", "Content-Type must be application/json"


class RangeNotSatisfiable(CouchError):
    status, error, reason = 416, "requested_range_not_satisfiable", "Requested range not satisfiable"


class ExpectationFailed(CouchError):
    status, error, reason = 417, "expectation_failed", "Expectation failed"


class InvalidRev(BadRequest):
    reason = "Invalid rev format"
