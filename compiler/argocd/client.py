"""A small synchronous client for Argo CD's REST API (v3.5), on httpx.

Authentication is a bearer token (ARGOCD_AUTH_TOKEN, an account or project-role token) or a
session token obtained once from username/password. TLS is verified unless `insecure=True`.
Connection errors and 5xx answers are retried with exponential backoff (tenacity); 4xx never are.
Writes that may already have reached the server (a POST whose answer was lost, a 500) are not
retried: a second sync would only meet "another operation is already in progress".
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
import tenacity

from compiler.argocd.errors import APIError, ConnectionFailed, ServerError, error_for
from compiler.argocd.models import Application, ResourceDiff
from compiler.errors import UsageError

log = logging.getLogger("knobless.argocd")

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
"""Reads are long: `?refresh=normal` blocks until the controller has reconciled the app."""
JSON = "application/json"
_RETRYABLE_WRITE_STATUS = frozenset({502, 503})
"""Answers of a proxy or of a server not ready: the write was not processed."""


class _Retryable(Exception):
    """Internal marker: wraps an error that may be retried."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer`; the token stays out of repr() and str()."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(token=***)"


def _normalise_server(server: str) -> str:
    server = server.strip().rstrip("/")
    if not server:
        raise UsageError("no Argo CD server: pass --server URL or set ARGOCD_SERVER")
    if "://" not in server:
        server = f"https://{server}"
    if not server.startswith(("https://", "http://")):
        raise UsageError(f"--server {server!r}: use an https:// URL")
    return server


def _verify(ca_file: str | None, insecure: bool) -> ssl.SSLContext | bool:
    if insecure:
        return False
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise UsageError(f"--ca-file {ca_file}: cannot load a CA certificate: {error}") from None


class ArgoCDClient:
    """Argo CD REST client. Use as a context manager, or call close()."""

    def __init__(
        self,
        *,
        server: str,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if token is None and (username is None or password is None):
            raise UsageError(
                "no Argo CD credentials: set ARGOCD_AUTH_TOKEN, or ARGOCD_USERNAME and "
                "ARGOCD_PASSWORD"
            )
        self.server = _normalise_server(server)
        self._username = username
        self._password = password
        self._auth = _BearerAuth(token) if token is not None else None
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.server,
            verify=_verify(ca_file, insecure),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": JSON, "User-Agent": "knobless-argocd"},
        )

    def __repr__(self) -> str:
        return f"ArgoCDClient(server={self.server!r})"

    def __enter__(self) -> ArgoCDClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- API -------------------------------------------------------------------------------

    def login(self) -> None:
        """POST /api/v1/session with username/password; later calls use the session token."""
        body = {"username": self._username, "password": self._password}
        answer = self._request("POST", "/api/v1/session", body=body, authenticated=False)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not token:
            raise ServerError(
                "the session answer has no token", status=200, method="POST", path="/api/v1/session"
            )
        self._auth = _BearerAuth(str(token))

    def get_application(
        self,
        name: str,
        *,
        project: str | None,
        app_namespace: str | None = None,
        refresh: str | None = None,
    ) -> Application:
        """GET one app. With `project` a missing app is NotFound (404), without it 403."""
        params = _params(project=[project] if project else None, appNamespace=app_namespace)
        if refresh is not None:
            params["refresh"] = refresh
        return Application.model_validate(
            self._request("GET", f"/api/v1/applications/{_segment(name)}", params=params)
        )

    def list_applications(
        self, *, selector: str, project: str | None = None, app_namespace: str | None = None
    ) -> list[Application]:
        params = _params(
            selector=selector, projects=[project] if project else None, appNamespace=app_namespace
        )
        answer = self._request("GET", "/api/v1/applications", params=params)
        items = (answer.get("items") or []) if isinstance(answer, dict) else []
        return sorted((Application.model_validate(i) for i in items), key=lambda a: a.name)

    def sync(
        self,
        name: str,
        *,
        project: str | None,
        prune: bool = False,
        dry_run: bool = False,
        revision: str | None = None,
        app_namespace: str | None = None,
    ) -> Application:
        """Request a sync (returns at once, with `operation` set). Sync options and retry stay
        the Application's own: sending them would replace, not merge."""
        body: dict[str, Any] = {"name": name, "prune": prune, "dryRun": dry_run}
        body.update(_params(project=project, revision=revision, appNamespace=app_namespace))
        return Application.model_validate(
            self._request("POST", f"/api/v1/applications/{_segment(name)}/sync", body=body)
        )

    def rollback(
        self,
        name: str,
        *,
        history_id: int,
        project: str | None,
        prune: bool = False,
        dry_run: bool = False,
        app_namespace: str | None = None,
    ) -> Application:
        body: dict[str, Any] = {"name": name, "id": history_id, "prune": prune, "dryRun": dry_run}
        body.update(_params(project=project, appNamespace=app_namespace))
        return Application.model_validate(
            self._request("POST", f"/api/v1/applications/{_segment(name)}/rollback", body=body)
        )

    def terminate_operation(
        self, name: str, *, project: str | None, app_namespace: str | None = None
    ) -> None:
        params = _params(project=project, appNamespace=app_namespace)
        self._request("DELETE", f"/api/v1/applications/{_segment(name)}/operation", params=params)

    def managed_resources(
        self, name: str, *, project: str | None, app_namespace: str | None = None
    ) -> list[ResourceDiff]:
        params = _params(project=project, appNamespace=app_namespace)
        answer = self._request(
            "GET", f"/api/v1/applications/{_segment(name)}/managed-resources", params=params
        )
        items = (answer.get("items") or []) if isinstance(answer, dict) else []
        return [ResourceDiff.model_validate(item) for item in items]

    # -- transport -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        authenticated: bool = True,
    ) -> Any:
        if authenticated and self._auth is None:
            self.login()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=tenacity.wait_exponential(multiplier=self._backoff, max=self._max_backoff),
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=lambda state: log.info(
                "%s %s failed (%s); retrying", method, path, _cause(state)
            ),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send(method, path, params, body, authenticated)
        except _Retryable as exhausted:
            raise exhausted.error from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        authenticated: bool,
    ) -> Any:
        headers = {}
        if method != "GET":
            # Argo CD's CSRF guard answers 415 to any write without it, DELETE included.
            headers["Content-Type"] = JSON
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._http.request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                auth=self._auth if authenticated else None,
            )
        except httpx.TransportError as error:
            raise self._connection_failed(error, method, path) from None
        log.debug("%s %s -> %s", method, path, response.status_code)
        if response.is_redirect:
            target = response.headers.get("Location", "?")
            raise ConnectionFailed(
                f"{self.server} answered {response.status_code} redirecting to {target}; "
                "pass that URL (usually https://) as --server"
            )
        if response.is_success:
            return _json_of(response, method, path)
        failure = error_for(response.status_code, _message(response), method=method, path=path)
        if response.status_code >= 500 and (
            method == "GET" or response.status_code in _RETRYABLE_WRITE_STATUS
        ):
            raise _Retryable(failure)
        raise failure

    def _connection_failed(self, error: httpx.TransportError, method: str, path: str) -> Exception:
        reason = str(error) or type(error).__name__
        untrusted = "CERTIFICATE_VERIFY_FAILED" in reason
        if untrusted:
            reason += " (pass --ca-file with the server's CA, or --insecure to skip verification)"
        failed = ConnectionFailed(
            f"cannot reach Argo CD at {self.server} ({method} {path}): {reason}"
        )
        if untrusted:
            return failed  # trying again cannot make the certificate trusted
        # Nothing reached the server when connecting failed, so even a write may be retried.
        not_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return _Retryable(failed) if method == "GET" or not_sent else failed


def _cause(state: tenacity.RetryCallState) -> str:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    return str(error.error if isinstance(error, _Retryable) else error)


def _message(response: httpx.Response) -> str:
    """Argo CD's error text: `message` (or `error`) of its JSON body, else the plain-text body."""
    text = response.text.strip()
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = str(data.get("message") or data.get("error") or text)
    return (text or response.reason_phrase)[:500]


def _params(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _segment(name: str) -> str:
    # Application names are DNS-1123 subdomains; refuse anything that could change the path.
    if not name or any(c in name for c in "/?#%") or name in (".", ".."):
        raise UsageError(f"{name!r} is not an Argo CD application name")
    return name


__all__ = ["APIError", "ArgoCDClient"]


def _json_of(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ServerError(
            "the answer is not JSON (a proxy or login page in front of Argo CD?)",
            status=response.status_code,
            method=method,
            path=path,
        ) from None
