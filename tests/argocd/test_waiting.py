"""The wait algorithm of the Argo CD CLI (checkAppWaitConditions), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.argocd.models import Application
from compiler.argocd.waiting import operation_in_progress, verdict
from tests.argocd.fake_argocd import application, ts


def app(**status: Any) -> Application:
    body = application("dev-fraud-scorer")
    body["status"].update(status)
    return Application.model_validate(body)


FINISHED = {"phase": "Succeeded", "startedAt": ts(10), "finishedAt": ts(20)}


def test_pending_operation_is_in_progress() -> None:
    body = application("dev-fraud-scorer")
    body["operation"] = {"sync": {}}
    assert operation_in_progress(Application.model_validate(body))


def test_unfinished_operation_is_in_progress() -> None:
    assert operation_in_progress(app(operationState={"phase": "Running", "startedAt": ts(10)}))


def test_finished_but_not_yet_reconciled_is_in_progress_except_for_dry_runs() -> None:
    early = app(operationState=FINISHED, reconciledAt=ts(15))
    assert operation_in_progress(early)
    assert not operation_in_progress(early, dry_run=True)
    assert not operation_in_progress(app(operationState=FINISHED, reconciledAt=ts(20)))
    assert operation_in_progress(app(operationState=FINISHED, reconciledAt=None))


def test_never_operated_app_is_judged_by_its_status() -> None:
    assert verdict(app(), health=True) == ""
    assert verdict(app(sync={"status": "OutOfSync"}), health=False) is None


@pytest.mark.parametrize(
    ("health", "with_health", "expected"),
    [
        ("Healthy", True, ""),
        ("Progressing", True, None),
        ("Progressing", False, ""),
        ("Missing", True, None),
    ],
)
def test_synced_apps_wait_for_health_only_when_asked(
    health: str, with_health: bool, expected: str | None
) -> None:
    done = app(operationState=FINISHED, reconciledAt=ts(30), health={"status": health})
    assert verdict(done, health=with_health) == expected


def test_degraded_after_sync_is_a_failure_naming_the_resources() -> None:
    degraded = app(
        operationState=FINISHED,
        reconciledAt=ts(30),
        health={"status": "Degraded"},
        resources=[
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "serving-fraud-scorer",
                "name": "fraud-scorer-v7",
                "status": "Synced",
                "health": {"status": "Degraded", "message": "exceeded its progress deadline"},
            }
        ],
    )
    assert verdict(degraded, health=True) == (
        "dev-fraud-scorer: sync Synced, health Degraded, last operation Succeeded\n"
        "  Deployment serving-fraud-scorer/fraud-scorer-v7: Degraded: "
        "exceeded its progress deadline"
    )
    assert verdict(degraded, health=False) == ""


def test_failed_operation_fails_unless_the_app_is_fine_now() -> None:
    failed = {**FINISHED, "phase": "Failed", "message": "one or more objects failed to apply"}
    report = verdict(
        app(operationState=failed, reconciledAt=ts(30), sync={"status": "OutOfSync"}), health=False
    )
    assert report is not None and "operation: one or more objects failed to apply" in report
    # An old failure does not matter once the app is synced and healthy again.
    assert verdict(app(operationState=failed, reconciledAt=ts(30)), health=True) == ""


def test_rollback_does_not_require_synced() -> None:
    rolled_back = app(operationState=FINISHED, reconciledAt=ts(30), sync={"status": "OutOfSync"})
    assert verdict(rolled_back, health=True, synced=False) == ""
    assert verdict(rolled_back, health=True) is None
