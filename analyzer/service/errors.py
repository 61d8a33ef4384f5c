"""Errors in Google's shape: ``{"error": {"code", "message", "status"}}``, so Perspective
clients (and Google's own API client) report them as they would report Perspective's."""

from __future__ import annotations

from typing import Any

# HTTP status -> google.rpc status name
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    408: "DEADLINE_EXCEEDED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """A request the service refuses: an HTTP status, a message a person understands, and
    optional extra headers (``Retry-After``) and a machine-readable ``reason``."""

    def __init__(
        self, code: int, message: str, *, reason: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.headers = headers or {}

    @classmethod
    def invalid(cls, message: str, *, reason: str | None = None) -> ApiError:
        return cls(400, message, reason=reason)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": STATUS.get(self.code, "UNKNOWN")}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason}]
        return {"error": error}
