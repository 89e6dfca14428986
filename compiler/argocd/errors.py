"""Errors of the Argo CD client, each carrying Argo CD's own message.

    compiler.errors.ArgoCDError   root (a KnoblessError)
    ├── ConnectionFailed      no answer: DNS, refused, TLS, timeout, redirect (exit 3)
    ├── Unauthenticated       401: missing, expired or invalid token (exit 3)
    ├── PermissionDenied      403: RBAC, sync window, or app missing without project (exit 3)
    ├── NotFound              404: no such application in the project
    ├── BadRequest            other 4xx, e.g. 400 invalid argument, 415 content type
    │   └── AutoSyncEnabled   400: rollback or sync to another revision while auto-sync is on
    ├── Conflict              409, and operations that collide
    │   └── OperationInProgress 400 "another operation is already in progress"
    ├── ServerError           5xx
    ├── OperationFailed       a sync finished Failed/Error, or the app ended Degraded
    └── WaitTimeout           `wait` ran out of time

Exit codes: 3 for "cannot talk to Argo CD as you" (ConnectionFailed, Unauthenticated,
PermissionDenied), so CI can tell an access problem from a failed deployment; 1 for the rest.
The token is never part of a message: messages are built from Argo CD's answer and the URL
path only.
"""

from __future__ import annotations

from compiler.errors import ArgoCDError

EXIT_ACCESS = 3


class ConnectionFailed(ArgoCDError):
    exit_code = EXIT_ACCESS


class APIError(ArgoCDError):
    """Argo CD answered with an error status. `status` is the HTTP status, `message` its text."""

    def __init__(self, message: str, *, status: int, method: str, path: str) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        super().__init__(f"Argo CD answered {status} to {method} {path}: {message}")


class Unauthenticated(APIError):
    exit_code = EXIT_ACCESS


class PermissionDenied(APIError):
    exit_code = EXIT_ACCESS


class NotFound(APIError):
    pass


class BadRequest(APIError):
    pass


class AutoSyncEnabled(BadRequest):
    pass


class Conflict(APIError):
    pass


class OperationInProgress(Conflict):
    pass


class ServerError(APIError):
    pass


class OperationFailed(ArgoCDError):
    pass


class WaitTimeout(ArgoCDError):
    pass


def error_for(status: int, message: str, *, method: str, path: str) -> APIError:
    """The most specific error for an HTTP error status and Argo CD's message."""
    kind: type[APIError]
    if status == 401:
        kind = Unauthenticated
    elif status == 403:
        kind = PermissionDenied
    elif status == 404:
        kind = NotFound
    elif status == 409:
        kind = Conflict
    elif status >= 500:
        kind = ServerError
    elif "another operation is already in progress" in message:
        kind = OperationInProgress
    elif "auto-sync" in message:
        kind = AutoSyncEnabled
    else:
        kind = BadRequest
    return kind(message, status=status, method=method, path=path)
