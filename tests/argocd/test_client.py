"""The REST client against the fake Argo CD (answers and errors as Argo CD v3.5 gives them)."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from compiler.argocd import errors
from compiler.argocd.client import ArgoCDClient
from compiler.errors import ArgoCDError, UsageError
from tests.argocd.fake_argocd import PASSWORD, TOKEN, FakeArgoCD, application
from tests.argocd.swagger_contract import request_problems


def test_get_sends_the_project_and_parses_the_application(
    fake: FakeArgoCD, client: ArgoCDClient
) -> None:
    fake.add(application("dev-fraud-scorer"))
    app = client.get_application("dev-fraud-scorer", project="model-serving")
    assert (app.name, app.status.sync.status, app.status.health.status) == (
        "dev-fraud-scorer",
        "Synced",
        "Healthy",
    )
    assert app.spec.auto_sync
    (request,) = fake.requests
    assert request.url.params.get_list("project") == ["model-serving"]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_missing_app_is_403_without_project_and_404_with_it(client: ArgoCDClient) -> None:
    with pytest.raises(errors.PermissionDenied) as denied:
        client.get_application("dev-nothing", project=None)
    assert denied.value.message == "permission denied"
    assert denied.value.exit_code == 3
    with pytest.raises(errors.NotFound) as missing:
        client.get_application("dev-nothing", project="model-serving")
    assert missing.value.message == 'applications.argoproj.io "dev-nothing" not found'
    assert missing.value.exit_code == 1
    assert str(missing.value) == (
        "Argo CD answered 404 to GET /api/v1/applications/dev-nothing: "
        'applications.argoproj.io "dev-nothing" not found'
    )


def test_bad_token_is_unauthenticated(fake: FakeArgoCD) -> None:
    fake.add(application("dev-fraud-scorer"))
    c = ArgoCDClient(server="https://a", token="not-the-token", transport=fake.transport())
    with c, pytest.raises(errors.Unauthenticated) as caught:
        c.get_application("dev-fraud-scorer", project="model-serving")
    assert caught.value.message == "no session information"
    assert isinstance(caught.value, ArgoCDError)


def test_session_login_then_bearer_token(fake: FakeArgoCD) -> None:
    fake.add(application("dev-fraud-scorer"))
    transport = fake.transport()
    with ArgoCDClient(
        server="a.example", username="admin", password=PASSWORD, transport=transport
    ) as c:
        c.get_application("dev-fraud-scorer", project="model-serving")
        assert c.server == "https://a.example"
    login, get = fake.requests
    assert (login.method, login.url.path) == ("POST", "/api/v1/session")
    assert "authorization" not in login.headers
    assert get.headers["authorization"] == f"Bearer {TOKEN}"
    with (
        ArgoCDClient(
            server="https://a", username="admin", password="wrong", transport=transport
        ) as c,
        pytest.raises(errors.Unauthenticated, match="Invalid username or password"),
    ):
        c.get_application("dev-fraud-scorer", project="model-serving")


def test_sync_while_an_operation_runs_is_operation_in_progress(
    fake: FakeArgoCD, client: ArgoCDClient, sleeps: list[float]
) -> None:
    fake.add(application("dev-fraud-scorer"))
    app = client.sync("dev-fraud-scorer", project="model-serving", prune=True)
    assert app.operation is not None
    with pytest.raises(errors.OperationInProgress) as caught:
        client.sync("dev-fraud-scorer", project="model-serving")
    assert caught.value.message == "another operation is already in progress"
    assert isinstance(caught.value, errors.Conflict)
    assert len(fake.requests) == 2 and sleeps == []  # a 400 is never retried
    body = fake.requests[0].read()
    assert (
        body == b'{"name":"dev-fraud-scorer","prune":true,"dryRun":false,"project":"model-serving"}'
    )


def test_sync_to_another_revision_with_auto_sync_is_refused(
    fake: FakeArgoCD, client: ArgoCDClient
) -> None:
    fake.add(application("dev-fraud-scorer"))
    with pytest.raises(errors.AutoSyncEnabled, match="auto-sync currently set to HEAD"):
        client.sync("dev-fraud-scorer", project="model-serving", revision="abc123")


def test_every_write_carries_content_type_json_delete_included(
    fake: FakeArgoCD, client: ArgoCDClient
) -> None:
    fake.add(application("dev-fraud-scorer", automated=False))
    client.sync("dev-fraud-scorer", project="model-serving")
    client.terminate_operation("dev-fraud-scorer", project="model-serving")
    client.rollback("dev-fraud-scorer", history_id=1, project="model-serving")
    writes = [r for r in fake.requests if r.method != "GET"]
    assert [r.method for r in writes] == ["POST", "DELETE", "POST"]
    assert all(r.headers["content-type"] == "application/json" for r in writes)
    assert fake.requests[1].content == b""


def test_415_plain_text_answer_becomes_bad_request_with_its_text(fake: FakeArgoCD) -> None:
    fake.add(application("dev-fraud-scorer"))

    def proxy_dropping_content_type(request: httpx.Request) -> httpx.Response:
        del request.headers["content-type"]
        return fake.handle(request)

    raw = httpx.Client(transport=fake.transport(), base_url="https://a")
    answer = raw.delete("/api/v1/applications/dev-fraud-scorer/operation")
    assert (answer.status_code, answer.text) == (415, "Invalid content type\n")
    with (
        ArgoCDClient(
            server="https://a",
            token=TOKEN,
            transport=httpx.MockTransport(proxy_dropping_content_type),
        ) as c,
        pytest.raises(errors.BadRequest) as caught,
    ):
        c.terminate_operation("dev-fraud-scorer", project="model-serving")
    assert (caught.value.status, caught.value.message) == (415, "Invalid content type")


def test_503_twice_then_success_is_retried_with_backoff(
    fake: FakeArgoCD, client: ArgoCDClient, sleeps: list[float]
) -> None:
    fake.add(application("dev-fraud-scorer"))
    fake.fail_next = [503, 503]
    assert client.get_application("dev-fraud-scorer", project="model-serving").name
    assert len(fake.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_gives_up_after_the_attempts_with_argo_cds_message(
    fake: FakeArgoCD, client: ArgoCDClient, sleeps: list[float]
) -> None:
    fake.add(application("dev-fraud-scorer"))
    fake.fail_next = [500] * 10
    with pytest.raises(errors.ServerError, match="transport: error while dialing"):
        client.get_application("dev-fraud-scorer", project="model-serving")
    assert len(fake.requests) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_writes_are_retried_only_when_not_processed(
    fake: FakeArgoCD, client: ArgoCDClient, sleeps: list[float]
) -> None:
    fake.add(application("dev-fraud-scorer"))
    fake.fail_next = [503]
    client.sync("dev-fraud-scorer", project="model-serving")
    assert len(fake.requests) == 2
    fake.requests.clear()
    fake.fail_next = [500]
    with pytest.raises(errors.ServerError):
        client.sync("dev-fraud-scorer", project="model-serving")
    assert len(fake.requests) == 1  # a 500 may have started a sync: not repeated


def test_lost_answers_retry_reads_but_not_writes(sleeps: list[float]) -> None:
    calls: list[str] = []

    def timing_out(request: httpx.Request) -> httpx.Response:
        assert request_problems(request) == []
        calls.append(request.method)
        raise httpx.ReadTimeout("timed out", request=request)

    with ArgoCDClient(
        server="https://a",
        token=TOKEN,
        transport=httpx.MockTransport(timing_out),
        sleep=sleeps.append,
    ) as c:
        with pytest.raises(errors.ConnectionFailed, match="timed out"):
            c.get_application("x", project="p")
        with pytest.raises(errors.ConnectionFailed):
            c.sync("x", project="p")
    assert calls == ["GET"] * 4 + ["POST"]


def test_connection_refused_on_a_real_closed_port(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = ArgoCDClient(server=f"http://127.0.0.1:{port}", token=TOKEN, sleep=sleeps.append)
    with c, pytest.raises(errors.ConnectionFailed) as caught:
        c.sync("dev-x", project="p")  # nothing was sent: even a write is retried
    assert (
        f"cannot reach Argo CD at http://127.0.0.1:{port} (POST /api/v1/applications/dev-x/sync)"
        in str(caught.value)
    )
    assert caught.value.exit_code == 3 and len(sleeps) == 3


def test_redirect_to_https_is_explained() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        assert request_problems(request) == []
        return httpx.Response(307, headers={"Location": "https://argocd.example.com/api/v1/x"})

    with (
        ArgoCDClient(
            server="http://argocd.example.com", token=TOKEN, transport=httpx.MockTransport(redirect)
        ) as c,
        pytest.raises(
            errors.ConnectionFailed, match=r"redirecting to https://argocd\.example\.com"
        ),
    ):
        c.get_application("x", project="p")


def test_options_are_keyword_only_and_validated(tmp_path: object) -> None:
    with pytest.raises(TypeError):
        ArgoCDClient("https://a", TOKEN)  # type: ignore[call-arg]
    with pytest.raises(UsageError, match="no Argo CD credentials"):
        ArgoCDClient(server="https://a")
    with pytest.raises(UsageError, match="no Argo CD server"):
        ArgoCDClient(server=" ", token=TOKEN)
    with pytest.raises(UsageError, match=r"--ca-file /nonexistent\.pem: cannot load"):
        ArgoCDClient(server="https://a", token=TOKEN, ca_file="/nonexistent.pem")
    with pytest.raises(UsageError, match="not an Argo CD application name"):
        ArgoCDClient(server="https://a", token=TOKEN).get_application("../x", project="p")


def test_the_token_and_password_never_show(
    fake: FakeArgoCD, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add(application("dev-fraud-scorer"))
    seen: list[str] = []
    with ArgoCDClient(
        server="https://a",
        username="admin",
        password=PASSWORD,
        transport=fake.transport(),
        sleep=sleeps.append,
    ) as c:
        seen.append(repr(c))
        fake.fail_next = [503]
        c.get_application("dev-fraud-scorer", project="model-serving")
        seen += [repr(c), repr(c._auth), str(c._auth)]
        for call in (
            lambda: c.get_application("dev-missing", project="model-serving"),
            lambda: c.sync("dev-missing", project=None),
        ):
            with pytest.raises(ArgoCDError) as caught:
                call()
            seen += [str(caught.value), repr(caught.value), repr(caught.value.args)]
            seen += [repr(caught.value.__cause__), repr(caught.value.__context__)]
    for request in fake.requests:
        seen += [repr(request), repr(request.headers), str(request.url)]
    with ArgoCDClient(server="http://127.0.0.1:9", token=TOKEN, sleep=sleeps.append) as c:
        with pytest.raises(errors.ConnectionFailed) as refused:
            c.get_application("x", project="p")
        seen += [str(refused.value), repr(refused.value), repr(refused.value.__cause__)]
    seen += [record.getMessage() for record in caplog.records]
    text = "\n".join(seen)
    assert "dev-fraud-scorer" in text and "[secure]" in text  # what was checked is really there
    assert TOKEN not in text and TOKEN.split(".")[1] not in text
    assert PASSWORD not in text
