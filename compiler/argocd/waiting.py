"""Waiting for applications the way the Argo CD CLI decides they are done.

An operation is in progress while the app's top-level `operation` is set, or the last
operationState has no `finishedAt`, or (not for dry runs) `status.reconciledAt` is earlier than
`finishedAt` — the controller has not compared the result yet [argocd app wait:
checkAppWaitConditions]. Once not in progress the app is done when Synced (and Healthy with
`health`). Terminal failures end the wait early: a finished operation in phase Failed or Error,
or (with `health`) Degraded health once synced — a Deployment is Degraded only after its
progress deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from compiler.argocd.client import ArgoCDClient
from compiler.argocd.errors import OperationFailed, WaitTimeout
from compiler.argocd.models import Application

FAILED_PHASES = frozenset({"Failed", "Error"})
POLL_INTERVALS = (1.0, 2.0, 3.0, 5.0)
"""Seconds between polls: quick at first, then every 5 s (the last value repeats)."""


@dataclass(frozen=True)
class Target:
    """Which apps to wait for and what "done" means."""

    names: tuple[str, ...]
    project: str | None
    app_namespace: str | None = None
    health: bool = False
    dry_run: bool = False
    synced: bool = True
    """Require Synced; False after a rollback, which leaves the app OutOfSync on purpose."""


def operation_in_progress(app: Application, *, dry_run: bool = False) -> bool:
    if app.operation is not None:
        return True
    state = app.status.operationState
    if state is None:
        return False
    if state.finishedAt is None:
        return True
    reconciled = app.status.reconciledAt
    return not dry_run and (reconciled is None or reconciled < state.finishedAt)


def verdict(
    app: Application, *, health: bool, dry_run: bool = False, synced: bool = True
) -> str | None:
    """None while waiting; "" when done; otherwise why the app failed (a terminal state)."""
    if operation_in_progress(app, dry_run=dry_run):
        return None
    state = app.status.operationState
    failed = state is not None and state.phase in FAILED_PHASES
    if dry_run:
        return failure_report(app) if failed else ""
    in_sync = app.status.sync.status == "Synced" or not synced
    healthy = app.status.health.status == "Healthy"
    if in_sync and (healthy or not health):
        # Done, even if an older operation failed: the app is where it should be now.
        return ""
    if failed or (in_sync and health and app.status.health.status == "Degraded"):
        return failure_report(app)
    return None


def failure_report(app: Application) -> str:
    """What went wrong: the operation's message, failed sync results, unhealthy resources."""
    lines = [f"{app.name}: sync {app.status.sync.status}, health {app.status.health.status}"]
    state = app.status.operationState
    if state is not None and state.phase:
        lines[0] += f", last operation {state.phase}"
        if state.message:
            lines.append(f"  operation: {state.message}")
        for result in state.syncResult.resources if state.syncResult else ():
            if result.status == "SyncFailed":
                lines.append(f"  {_ref(result)}: sync failed: {result.message}")
    for resource in app.status.resources:
        status = resource.health.status if resource.health else ""
        if status and status != "Healthy":
            message = resource.health.message if resource.health else ""
            lines.append(f"  {_ref(resource)}: {status}" + (f": {message}" if message else ""))
    for condition in app.status.conditions:
        if condition.type.endswith("Error"):
            lines.append(f"  {condition.type}: {condition.message}")
    return "\n".join(lines)


def _ref(resource: object) -> str:
    kind = getattr(resource, "kind", "")
    namespace = getattr(resource, "namespace", "")
    name = getattr(resource, "name", "")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def wait(
    client: ArgoCDClient,
    target: Target,
    *,
    timeout: float,
    refresh_first: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_poll: Callable[[Application], None] | None = None,
) -> list[Application]:
    """Poll until every app is done; the final Applications in the order of `target.names`.

    Raises OperationFailed as soon as one app reaches a terminal failure (after the others were
    polled once more, so the report names them all), and WaitTimeout after `timeout` seconds.
    `refresh_first` asks Argo CD to compare with git before the first poll, so a commit it has
    not noticed yet is not mistaken for "already synced".
    """
    deadline = clock() + timeout
    pending = list(target.names)
    final: dict[str, Application] = {}
    polls = 0
    while True:
        refresh = refresh_first and polls == 0
        failures = _poll(client, target, pending, final, refresh=refresh, on_poll=on_poll)
        if failures:
            raise OperationFailed("\n".join(failures))
        if not pending:
            return [final[name] for name in target.names]
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(
                f"timed out after {timeout:g}s; still waiting for:\n"
                + "\n".join(failure_report(final[name]) for name in pending)
            )
        sleep(min(POLL_INTERVALS[min(polls, len(POLL_INTERVALS) - 1)], remaining))
        polls += 1


def _poll(
    client: ArgoCDClient,
    target: Target,
    pending: list[str],
    final: dict[str, Application],
    *,
    refresh: bool,
    on_poll: Callable[[Application], None] | None,
) -> list[str]:
    """Poll every pending app once: those done leave `pending`, each one's latest state goes
    into `final`; the failure reports of those that failed."""
    failures = []
    for name in list(pending):
        app = client.get_application(
            name,
            project=target.project,
            app_namespace=target.app_namespace,
            refresh="normal" if refresh else None,
        )
        final[name] = app
        if on_poll is not None:
            on_poll(app)
        outcome = verdict(app, health=target.health, dry_run=target.dry_run, synced=target.synced)
        if outcome == "":
            pending.remove(name)
        elif outcome is not None:
            failures.append(outcome)
    return failures
