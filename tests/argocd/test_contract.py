"""The contract checker must catch what Argo CD's API does not accept, or it proves nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.argocd.fake_argocd import application
from tests.argocd.swagger_contract import request_problems, response_problems, spec

BASE = "https://argocd.example.com"


def test_the_excerpt_says_where_it_comes_from() -> None:
    assert "argoproj/argo-cd v3.5.1" in spec()["x-provenance"]
    assert "Apache-2.0" in spec()["x-provenance"]


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (httpx.Request("GET", f"{BASE}/api/v1/applicationz"), "no such operation"),
        (httpx.Request("PUT", f"{BASE}/api/v1/applications/a/sync"), "no such operation"),
        (
            httpx.Request("GET", f"{BASE}/api/v1/applications/a?projects=p&flavour=x"),
            "undeclared query parameter 'flavour'",
        ),
        (
            httpx.Request("DELETE", f"{BASE}/api/v1/applications/a/operation?project=p&project=q"),
            "repeated",
        ),
        (
            httpx.Request("POST", f"{BASE}/api/v1/applications/a/sync"),
            "the required body is missing",
        ),
        (
            httpx.Request(
                "POST", f"{BASE}/api/v1/applications/a/sync", json={"name": "a", "dry_run": True}
            ),
            "'dry_run' was unexpected",
        ),
        (
            httpx.Request(
                "POST", f"{BASE}/api/v1/applications/a/rollback", json={"name": "a", "id": "2"}
            ),
            "'2' is not of type 'integer'",
        ),
        (
            httpx.Request(
                "POST", f"{BASE}/api/v1/applications/a/sync", json={"retryStrategy": {"limit": "5"}}
            ),
            "is not of type 'integer'",
        ),
        (httpx.Request("GET", f"{BASE}/api/v1/applications/a", content=b"{}"), "a body was sent"),
    ],
)
def test_requests_outside_the_contract_are_reported(request_: httpx.Request, problem: str) -> None:
    problems = request_problems(request_)
    assert any(problem in p for p in problems), problems


def test_conforming_requests_pass() -> None:
    assert (
        request_problems(
            httpx.Request("GET", f"{BASE}/api/v1/applications?selector=a%3Db&projects=p&projects=q")
        )
        == []
    )
    body = {"name": "a", "prune": True, "dryRun": False, "revision": "main", "project": "p"}
    assert (
        request_problems(httpx.Request("POST", f"{BASE}/api/v1/applications/a/sync", json=body))
        == []
    )


def test_the_fakes_answers_have_the_published_shapes() -> None:
    app = application("dev-fraud-scorer")
    assert response_problems("GET", "/api/v1/applications/a", 200, app) == []
    wrong = json.loads(json.dumps(app))
    wrong["status"]["history"][0]["id"] = "1"
    assert response_problems("GET", "/api/v1/applications/a", 200, wrong) != []
    assert response_problems("POST", "/api/v1/applications/a/sync", 400, {"code": "9"}) != []
