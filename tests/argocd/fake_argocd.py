"""A fake Argo CD v3.5 REST API for tests, as an httpx.MockTransport handler.

It answers the way Argo CD's source says it does (see ../shared/reference/argocd/NOTES.md §1-4):
bearer-token auth (401 "no session information"), the CSRF guard (415 plain text without
`Content-Type: application/json` on writes), 403 for a missing app when no project is given but
404 with one, 400 "another operation is already in progress", 400 on rollback with auto-sync, and
operations that advance one step per GET along a scripted scenario. Every request is checked
against the swagger contract and every JSON answer against the response schema; problems are
collected in `violations` (a fixture asserts it stays empty).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.argocd.swagger_contract import request_problems, response_problems

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2VuLWZvci10ZXN0cw.knobless-test-signature"
"""JWT-shaped (Argo CD ignores tokens that are not); tests assert it never leaks."""
PASSWORD = "correct horse battery staple"

Status = dict[str, Any]
Scenario = list[Callable[[Status, str], None]]


def ts(second: int) -> str:
    return f"2026-11-28T12:00:{second:02d}Z"


def application(
    name: str,
    *,
    env: str = "dev",
    project: str = "model-serving",
    automated: bool = True,
    history: int = 3,
    component: str = "endpoint",
) -> dict[str, Any]:
    """An Application as GET returns it: Synced and Healthy, with `history` past deployments."""
    sync_policy: dict[str, Any] = {"syncOptions": ["ServerSideApply=true"]}
    if automated:
        sync_policy["automated"] = {"prune": True, "selfHeal": True}
    return {
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"knobless.dev/env": env, "knobless.dev/component": component},
            "resourceVersion": "1000",
        },
        "spec": {
            "project": project,
            "source": {
                "repoURL": "https://git.example.com/ml-platform/serving-config.git",
                "targetRevision": "HEAD",
                "path": f"rendered/{env}/{name.removeprefix(env + '-')}",
            },
            "destination": {"server": "https://dev-eu-west-1.k8s.example.com", "namespace": name},
            "syncPolicy": sync_policy,
        },
        "status": {
            "sync": {"status": "Synced", "revision": f"{history:040x}"},
            "health": {"status": "Healthy"},
            "reconciledAt": ts(0),
            "history": [
                {"id": i, "revision": f"{i:040x}", "deployedAt": ts(i)}
                for i in range(1, history + 1)
            ],
            "resources": [
                {
                    "group": "apps",
                    "version": "v1",
                    "kind": "Deployment",
                    "namespace": f"serving-{name.removeprefix(env + '-')}",
                    "name": "model-v1",
                    "status": "Synced",
                    "health": {"status": "Healthy"},
                }
            ],
        },
    }


def _running(status: Status, kind: str) -> None:
    status["operationState"] = {
        "operation": {kind: {}},
        "phase": "Running",
        "message": "waiting for healthy state of apps/Deployment/model-v1",
        "startedAt": ts(10),
    }
    status["sync"]["status"] = "OutOfSync"
    status["health"]["status"] = "Progressing"


def _finished(
    phase: str, message: str, failed: list[dict[str, Any]] | None = None
) -> Callable[[Status, str], None]:
    def step(status: Status, kind: str) -> None:
        state = status["operationState"]
        state.update(phase=phase, message=message, finishedAt=ts(20))
        state["syncResult"] = {"revision": "f" * 40, "resources": failed or []}
        # The controller has not compared the result yet: reconciledAt still before finishedAt.
        status["reconciledAt"] = ts(15)
        status["sync"]["status"] = "Synced" if phase == "Succeeded" else "OutOfSync"

    return step


def _reconciled(health: str, message: str = "") -> Callable[[Status, str], None]:
    def step(status: Status, kind: str) -> None:
        status["reconciledAt"] = ts(25)
        status["health"]["status"] = health
        for resource in status["resources"]:
            resource["health"] = {"status": health, **({"message": message} if message else {})}

    return step


SCENARIOS: dict[str, Scenario] = {
    "healthy": [
        _running,
        _finished("Succeeded", "successfully synced (all tasks run)"),
        _reconciled("Progressing"),
        _reconciled("Healthy"),
    ],
    "degraded": [
        _running,
        _finished("Succeeded", "successfully synced (all tasks run)"),
        _reconciled("Degraded", 'Deployment "model-v1" exceeded its progress deadline'),
    ],
    "failed": [
        _running,
        _finished(
            "Failed",
            "one or more objects failed to apply, reason: the server could not find the "
            "requested resource",
            [
                {
                    "group": "keda.sh",
                    "version": "v1alpha1",
                    "kind": "ScaledObject",
                    "namespace": "serving-fraud-scorer",
                    "name": "model-v1",
                    "status": "SyncFailed",
                    "message": "the server could not find the requested resource",
                }
            ],
        ),
        _reconciled("Healthy"),
    ],
}


def _error(status: int, grpc_code: int, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": message, "code": grpc_code, "message": message, "details": []}
    )


class FakeArgoCD:
    def __init__(self, *, projects: tuple[str, ...] = ("model-serving",)) -> None:
        self.apps: dict[str, dict[str, Any]] = {}
        self.scenario: dict[str, list[Callable[[Status, str], None]]] = {}
        self.operation_kind: dict[str, str] = {}
        self.allowed_projects = set(projects)
        self.requests: list[httpx.Request] = []
        self.violations: list[str] = []
        self.fail_next: list[int] = []
        """HTTP statuses answered (as Unavailable etc.) before the real answer, one per request."""
        self.managed: dict[str, list[dict[str, Any]]] = {}
        self.play = "healthy"
        """Scenario a sync or rollback starts."""
        self.auto_sync_enabled_meanwhile = False
        """Someone turned auto-sync on after the client read the app (rollback then gets 400)."""

    def add(self, app: dict[str, Any]) -> dict[str, Any]:
        self.apps[app["metadata"]["name"]] = app
        return app

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- dispatch ---------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.violations += request_problems(request)
        response = self._answer(request)
        if response.headers.get("content-type", "").startswith("application/json"):
            self.violations += response_problems(
                request.method, request.url.path, response.status_code, response.json()
            )
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and request.headers.get("content-type") != "application/json":
            return httpx.Response(
                415,
                text="Invalid content type\n",
                headers={"content-type": "text/plain; charset=utf-8"},
            )
        if self.fail_next:
            status = self.fail_next.pop(0)
            return _error(status, 14, 'connection error: desc = "transport: error while dialing"')
        path = request.url.path
        if path == "/api/v1/session" and request.method == "POST":
            body = json.loads(request.content)
            if body.get("username") == "admin" and body.get("password") == PASSWORD:
                return httpx.Response(200, json={"token": TOKEN})
            return _error(401, 16, "Invalid username or password")
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, 16, "no session information")
        parts = path.removeprefix("/api/v1/applications").strip("/").split("/")
        params = request.url.params
        if parts == [""]:
            return self._list(params)
        name, action = parts[0], "/".join(parts[1:])
        projects = params.get_list("project") or params.get_list("projects")
        app = self.apps.get(name)
        if app is None or (app["spec"]["project"] not in self.allowed_projects):
            if not projects:
                return _error(403, 7, "permission denied")
            return _error(404, 5, f'applications.argoproj.io "{name}" not found')
        if projects and app["spec"]["project"] not in projects:
            return _error(404, 5, f'applications.argoproj.io "{name}" not found')
        if request.method == "GET" and action == "":
            return httpx.Response(200, json=self._get(name))
        if request.method == "GET" and action == "managed-resources":
            return httpx.Response(200, json={"items": self.managed.get(name, [])})
        if request.method == "POST" and action == "sync":
            return self._sync(app, json.loads(request.content))
        if request.method == "POST" and action == "rollback":
            return self._rollback(app, json.loads(request.content))
        if request.method == "DELETE" and action == "operation":
            if app.get("operation") is None and not self.scenario.get(name):
                return _error(400, 9, "Unable to terminate operation. No operation is in progress")
            app.pop("operation", None)
            self.scenario.pop(name, None)
            app["status"]["operationState"] = {
                "operation": {"sync": {}},
                "phase": "Failed",
                "message": "Operation terminated",
                "startedAt": ts(10),
                "finishedAt": ts(11),
            }
            return httpx.Response(200, json={})
        return _error(501, 12, "Method Not Allowed")

    # -- operations -------------------------------------------------------------------------

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        key, _, value = (params.get("selector") or "=").partition("=")
        projects = set(params.get_list("projects") or params.get_list("project"))
        items = [
            app
            for name, app in sorted(self.apps.items())
            if app["metadata"]["labels"].get(key) == value
            and app["spec"]["project"] in self.allowed_projects
            and (not projects or app["spec"]["project"] in projects)
        ]
        return httpx.Response(200, json={"metadata": {"resourceVersion": "1000"}, "items": items})

    def _get(self, name: str) -> dict[str, Any]:
        app = self.apps[name]
        steps = self.scenario.get(name)
        if steps:
            # The controller picked the operation up: `operation` clears, operationState moves.
            app.pop("operation", None)
            steps.pop(0)(app["status"], self.operation_kind[name])
        return copy.deepcopy(app)

    def _busy(self, app: dict[str, Any]) -> bool:
        state = app["status"].get("operationState") or {}
        return app.get("operation") is not None or state.get("phase") == "Running"

    def _start(self, app: dict[str, Any], kind: str, operation: dict[str, Any]) -> httpx.Response:
        name = app["metadata"]["name"]
        app["operation"] = {kind: operation, "initiatedBy": {"username": "admin"}}
        self.scenario[name] = list(SCENARIOS[self.play])
        self.operation_kind[name] = kind
        return httpx.Response(200, json=copy.deepcopy(app))

    def _sync(self, app: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        if self._busy(app):
            return _error(400, 9, "another operation is already in progress")
        target = app["spec"]["source"]["targetRevision"]
        revision = body.get("revision")
        if revision and revision != target and "automated" in app["spec"]["syncPolicy"]:
            return _error(400, 9, f"Cannot sync to {revision}: auto-sync currently set to {target}")
        return self._start(
            app, "sync", {"revision": revision or target, "prune": body.get("prune", False)}
        )

    def _rollback(self, app: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        if "automated" in app["spec"]["syncPolicy"] or self.auto_sync_enabled_meanwhile:
            return _error(400, 9, "rollback cannot be initiated when auto-sync is enabled")
        if self._busy(app):
            return _error(400, 9, "another operation is already in progress")
        entry = next((h for h in app["status"]["history"] if h["id"] == body["id"]), None)
        if entry is None:
            return _error(
                400,
                3,
                f"application {app['metadata']['name']} has no deployment with id {body['id']}",
            )
        return self._start(app, "sync", {"revision": entry["revision"]})
