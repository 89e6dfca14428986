"""`knobless argocd ...` end to end against the fake Argo CD (the published contract)."""

from __future__ import annotations

import argparse
import json

import pytest

from compiler.argocd.cli import Deps, register
from compiler.errors import KnoblessError
from compiler.report import print_error
from tests.argocd.fake_argocd import TOKEN, FakeArgoCD, application
from tests.argocd.helpers import REPO

ENV = {"ARGOCD_SERVER": "https://argocd.example.com", "ARGOCD_AUTH_TOKEN": TOKEN}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def run(fake: FakeArgoCD, clock: Clock):
    def knobless(*argv: str, environ: dict[str, str] = ENV, network: bool = False) -> int:
        """Like compiler.cli.main, with the fake's transport (or the network) and a fake clock."""
        parser = argparse.ArgumentParser(prog="knobless")
        register(
            parser.add_subparsers(dest="command", required=True),
            deps=Deps(
                transport=None if network else fake.transport(),
                clock=clock.time,
                sleep=clock.sleep,
                environ=environ,
            ),
        )
        try:
            args = parser.parse_args(["argocd", *argv])
            return int(args.handler(args))
        except KnoblessError as error:
            print_error(error)
            return error.exit_code
        except SystemExit as exit_:
            return int(exit_.code or 0)

    return knobless


@pytest.fixture
def dev(fake: FakeArgoCD) -> FakeArgoCD:
    fake.add(application("dev-fraud-scorer"))
    fake.add(application("dev-feed-ranker", history=1))
    fake.add(application("dev-platform", component="platform"))
    fake.add(application("dev-root", component="root"))
    fake.add(application("prod-fraud-scorer", env="prod"))
    return fake


ROOT = ("--root", str(REPO))


def test_status_lists_the_environment_by_label_with_the_project_from_jsonnet(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("status", "--env", "dev", *ROOT) == 0
    assert capsys.readouterr().out == (
        "APPLICATION       SYNC    HEALTH   REVISION  OPERATION\n"
        "dev-feed-ranker   Synced  Healthy  0000000   -\n"
        "dev-fraud-scorer  Synced  Healthy  0000000   -\n"
        "dev-platform      Synced  Healthy  0000000   -\n"
        "dev-root          Synced  Healthy  0000000   -\n"
    )
    listing = dev.requests[0]
    assert listing.url.path == "/api/v1/applications"
    assert listing.url.params["selector"] == "knobless.dev/env=dev"
    assert listing.url.params.get_list("projects") == ["model-serving"]
    assert len(dev.requests) == 1


def test_status_json_of_one_endpoint(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            "status",
            "fraud-scorer",
            "--env",
            "dev",
            "--project",
            "model-serving",
            "--format",
            "json",
        )
        == 0
    )
    assert dev.requests[0].url.params.get_list("project") == ["model-serving"]
    assert json.loads(capsys.readouterr().out) == [
        {
            "autoSync": True,
            "health": "Healthy",
            "name": "dev-fraud-scorer",
            "operation": "",
            "operationMessage": "",
            "project": "model-serving",
            "revision": "0" * 39 + "3",
            "sync": "Synced",
        }
    ]


def test_sync_wait_follows_running_to_succeeded_and_progressing_to_healthy(
    run, dev: FakeArgoCD, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("sync", "fraud-scorer", "--env", "dev", *ROOT, "--prune", "--wait", "--health") == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "dev-fraud-scorer: sync started\n"
        "dev-fraud-scorer: OutOfSync/Progressing, operation Running\n"
        "dev-fraud-scorer: Synced/Progressing, operation Succeeded\n"
        "dev-fraud-scorer: Synced/Healthy, operation Succeeded\n"
    )
    assert "dev-fraud-scorer  Synced  Healthy" in captured.out
    # The finished-but-not-reconciled poll (reconciledAt < finishedAt) did not count as done.
    assert [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in dev.requests] == [
        ("POST", "sync"),
        *[("GET", "dev-fraud-scorer")] * 4,
    ]
    assert json.loads(dev.requests[0].content)["prune"] is True
    assert clock.sleeps == [1.0, 2.0, 3.0]


def test_sync_wait_without_health_stops_once_synced_and_reconciled(run, dev: FakeArgoCD) -> None:
    assert run("sync", "fraud-scorer", "--env", "dev", *ROOT, "--wait") == 0
    assert len(dev.requests) == 4  # sync, Running, finished-unreconciled, reconciled


def test_degraded_app_fails_naming_the_resource(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.play = "degraded"
    assert run("sync", "fraud-scorer", "--env", "dev", *ROOT, "--wait", "--health") == 1
    assert capsys.readouterr().err.endswith(
        "knobless: error: dev-fraud-scorer: sync Synced, health Degraded, "
        "last operation Succeeded\n"
        "  operation: successfully synced (all tasks run)\n"
        '  Deployment serving-fraud-scorer/model-v1: Degraded: Deployment "model-v1" exceeded its '
        "progress deadline\n"
    )


def test_failed_sync_fails_naming_the_resource_that_failed(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.play = "failed"
    assert run("sync", "fraud-scorer", "--env", "dev", *ROOT, "--wait") == 1
    err = capsys.readouterr().err
    assert "last operation Failed" in err
    assert (
        "  ScaledObject serving-fraud-scorer/model-v1: sync failed: the server could not find the "
        "requested resource\n"
    ) in err


def test_wait_times_out_with_backoff_polls_and_says_what_it_waited_for(
    run, dev: FakeArgoCD, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.apps["dev-fraud-scorer"]["status"]["operationState"] = {
        "phase": "Running",
        "startedAt": "2026-11-28T12:00:00Z",
    }
    assert run("wait", "fraud-scorer", "--env", "dev", *ROOT, "--timeout", "20s") == 1
    assert clock.sleeps == [1.0, 2.0, 3.0, 5.0, 5.0, 4.0]
    assert (
        "knobless: error: timed out after 20s; still waiting for:\ndev-fraud-scorer: sync Synced"
        in capsys.readouterr().err
    )
    # The first poll asks Argo CD to compare with git, so a new commit is not missed.
    assert dev.requests[0].url.params["refresh"] == "normal"
    assert all("refresh" not in r.url.params for r in dev.requests[1:])


def test_wait_for_all_apps_of_the_environment(run, dev: FakeArgoCD) -> None:
    assert run("wait", "--env", "dev", *ROOT, "--health") == 0
    names = sorted({r.url.path.rsplit("/", 1)[-1] for r in dev.requests[1:]})
    assert names == ["dev-feed-ranker", "dev-fraud-scorer", "dev-platform", "dev-root"]


def test_sync_while_busy_exits_1_with_argo_cds_message(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.apps["dev-fraud-scorer"]["operation"] = {"sync": {}}
    assert run("sync", "fraud-scorer", "--env", "dev", *ROOT) == 1
    assert capsys.readouterr().err == (
        "knobless: error: Argo CD answered 400 to POST /api/v1/applications/dev-fraud-scorer/sync: "
        "another operation is already in progress\n"
    )


def test_sync_of_all_apps_goes_on_past_one_that_is_busy(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.apps["dev-fraud-scorer"]["operation"] = {"sync": {}}
    assert run("sync", "--env", "dev", *ROOT) == 1
    err = capsys.readouterr().err
    assert "knobless: error: dev-fraud-scorer: another operation is already in progress" in err
    assert sum(1 for r in dev.requests if r.method == "POST") == 4


def test_diff_is_a_unified_diff_of_normalized_live_vs_predicted(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m"},
        "spec": {"replicas": 2, "paused": False},
    }
    predicted = {**live, "spec": {"replicas": 2, "paused": True}}
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
    }
    dev.managed["dev-fraud-scorer"] = [
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "serving-fraud-scorer",
            "name": "m",
            "normalizedLiveState": json.dumps(live),
            "predictedLiveState": json.dumps(predicted),
            "modified": True,
        },
        {
            "group": "gateway.networking.k8s.io",
            "kind": "HTTPRoute",
            "namespace": "serving-fraud-scorer",
            "name": "r",
            "normalizedLiveState": "null",
            "predictedLiveState": json.dumps(route),
            "modified": True,
        },
        {
            "kind": "Service",
            "namespace": "serving-fraud-scorer",
            "name": "same",
            "normalizedLiveState": "{}",
            "predictedLiveState": "{}",
        },
        {
            "kind": "Pod",
            "name": "hook",
            "hook": True,
            "normalizedLiveState": "null",
            "predictedLiveState": '{"a": 1}',
        },
    ]
    assert run("diff", "fraud-scorer", "--env", "dev", *ROOT, "--exit-code") == 1
    assert capsys.readouterr().out == (
        "--- live/apps/Deployment/serving-fraud-scorer/m\n"
        "+++ target/apps/Deployment/serving-fraud-scorer/m\n"
        "@@ -3,5 +3,5 @@\n"
        " metadata:\n"
        "   name: m\n"
        " spec:\n"
        "-  paused: false\n"
        "+  paused: true\n"
        "   replicas: 2\n"
        "--- live/gateway.networking.k8s.io/HTTPRoute/serving-fraud-scorer/r\n"
        "+++ target/gateway.networking.k8s.io/HTTPRoute/serving-fraud-scorer/r\n"
        "@@ -0,0 +1,4 @@\n"
        "+apiVersion: gateway.networking.k8s.io/v1\n"
        "+kind: HTTPRoute\n"
        "+metadata:\n"
        "+  name: r\n"
    )
    assert run("diff", "fraud-scorer", "--env", "dev", *ROOT) == 0


def test_rollback_is_refused_while_auto_sync_is_on_without_asking_argo_cd(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("rollback", "fraud-scorer", "--env", "dev", *ROOT) == 1
    err = capsys.readouterr().err
    assert err.startswith("knobless: error: dev-fraud-scorer has automated sync on")
    assert "revert the commit that broke it (`git revert <commit>`)" in err
    assert [r.method for r in dev.requests] == ["GET"]


def test_argo_cds_own_auto_sync_refusal_gets_the_same_message(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.add(application("dev-fraud-scorer", automated=False))
    dev.auto_sync_enabled_meanwhile = True
    assert run("rollback", "fraud-scorer", "--env", "dev", *ROOT) == 1
    assert "git revert" in capsys.readouterr().err


def test_rollback_goes_to_the_previous_deployment_and_waits(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.add(application("dev-fraud-scorer", automated=False))
    assert run("rollback", "fraud-scorer", "--env", "dev", *ROOT, "--wait", "--health") == 0
    post = next(r for r in dev.requests if r.method == "POST")
    assert json.loads(post.content) == {
        "name": "dev-fraud-scorer",
        "id": 2,
        "prune": False,
        "dryRun": False,
        "project": "model-serving",
    }
    assert "dev-fraud-scorer: rollback to history 2 (0000000) started" in capsys.readouterr().err


def test_rollback_to_an_unknown_id_or_without_history(
    run, dev: FakeArgoCD, capsys: pytest.CaptureFixture[str]
) -> None:
    dev.add(application("dev-fraud-scorer", automated=False))
    dev.add(application("dev-feed-ranker", automated=False, history=1))
    assert run("rollback", "fraud-scorer", "--env", "dev", *ROOT, "--to", "9") == 1
    assert run("rollback", "feed-ranker", "--env", "dev", *ROOT) == 1
    assert capsys.readouterr().err == (
        "knobless: error: dev-fraud-scorer has no history entry 9 (ids: 1, 2, 3)\n"
        "knobless: error: dev-feed-ranker has no earlier deployment to roll back to "
        "(1 in its history)\n"
    )


@pytest.mark.parametrize(
    ("argv", "environ", "code", "message"),
    [
        (("status", "nothing"), ENV, 1, 'applications.argoproj.io "dev-nothing" not found'),
        (
            ("status", "fraud-scorer"),
            {**ENV, "ARGOCD_AUTH_TOKEN": "expired"},
            3,
            "no session information",
        ),
        (
            ("status",),
            {"ARGOCD_AUTH_TOKEN": TOKEN},
            2,
            "no Argo CD server: pass --server URL or set ARGOCD_SERVER",
        ),
        (("status",), {"ARGOCD_SERVER": "https://a"}, 2, "no Argo CD credentials"),
        (("wait", "--timeout", "soon"), ENV, 2, "'soon' is not a duration"),
        (("diff",), ENV, 2, "the following arguments are required: ENDPOINT"),
        (
            ("status", "--server", "http://127.0.0.1:9"),
            ENV,
            3,
            "cannot reach Argo CD at http://127.0.0.1:9",
        ),
    ],
)
def test_exit_codes(
    run,
    dev: FakeArgoCD,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    environ: dict[str, str],
    code: int,
    message: str,
) -> None:
    network = "--server" in argv
    assert run(*argv, "--env", "dev", *ROOT, environ=environ, network=network) == code
    assert message in capsys.readouterr().err


def test_missing_environment_file_asks_for_project(
    run, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("status", "--env", "staging", "--root", str(tmp_path)) == 2
    assert "environments/staging.jsonnet not found" in capsys.readouterr().err


def test_the_real_cli_has_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.cli import main

    monkeypatch.delenv("ARGOCD_SERVER", raising=False)
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", TOKEN)
    assert main(["argocd", "status", "--env", "dev", "--project", "p"]) == 2
    assert "no Argo CD server" in capsys.readouterr().err


def test_status_on_a_terminal_is_a_rich_table() -> None:
    import io

    from compiler.argocd.models import Application
    from compiler.argocd.output import print_status

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    print_status([Application.model_validate(application("dev-fraud-scorer"))], "table", out)
    text = out.getvalue()
    assert "APPLICATION" in text and "│ dev-fraud-scorer │ Synced │ Healthy │" in text


def test_username_and_password_log_in_for_a_session(run, dev: FakeArgoCD) -> None:
    from tests.argocd.fake_argocd import PASSWORD

    environ = {
        "ARGOCD_SERVER": "argocd.example.com",
        "ARGOCD_USERNAME": "admin",
        "ARGOCD_PASSWORD": PASSWORD,
    }
    assert run("status", "fraud-scorer", "--env", "dev", *ROOT, environ=environ) == 0
    assert [r.url.path for r in dev.requests] == [
        "/api/v1/session",
        "/api/v1/applications/dev-fraud-scorer",
    ]
    assert str(dev.requests[0].url) == "https://argocd.example.com/api/v1/session"
