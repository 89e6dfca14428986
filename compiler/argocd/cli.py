"""`knobless argocd status|sync|wait|diff|rollback`: Argo CD from CI or a laptop.

Exit codes: 0 done; 1 the deployment failed (sync failed, degraded, timed out, app not found,
request refused); 2 usage; 3 cannot talk to Argo CD as you (connection, TLS, 401, 403).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from compiler.argocd import naming
from compiler.argocd.client import ArgoCDClient
from compiler.argocd.errors import APIError, AutoSyncEnabled
from compiler.argocd.models import Application
from compiler.argocd.output import print_status, unified_diff
from compiler.argocd.waiting import Target, wait
from compiler.errors import ArgoCDError, UsageError

EPILOG = """\
environment variables:
  ARGOCD_SERVER        Argo CD URL when --server is not given
  ARGOCD_AUTH_TOKEN    bearer token (account or project-role token); else
  ARGOCD_USERNAME, ARGOCD_PASSWORD   log in for a session token

exit codes:
  0  done
  1  sync failed, degraded, timed out, application not found or request refused
  2  usage error
  3  cannot reach Argo CD or not allowed (connection, TLS, 401, 403)
"""


@dataclass(frozen=True)
class Deps:
    """What a test replaces: the HTTP transport, the clock and sleep, the environment."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


@dataclass(frozen=True)
class Scope:
    """An environment as Argo CD sees it."""

    env: str
    project: str | None
    root_project: str | None
    app_namespace: str | None

    def project_of(self, app: str) -> str | None:
        return self.root_project if app == naming.root_name(self.env) else self.project


def register(subparsers: argparse._SubParsersAction[Any], *, deps: Deps | None = None) -> None:
    deps = deps or Deps()
    argocd = subparsers.add_parser(
        "argocd",
        help="status, sync, wait, diff and rollback of the Argo CD applications",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = argocd.add_subparsers(dest="argocd_command", metavar="COMMAND", required=True)
    specs: list[tuple[str, str, Callable[..., int], bool]] = [
        ("status", "sync and health of the applications", _status, False),
        ("sync", "start a sync (and wait with --wait)", _sync, False),
        ("wait", "wait until synced (and healthy with --health)", _wait, False),
        ("diff", "live vs target of one application, as a unified diff", _diff, True),
        ("rollback", "sync one application back to an earlier deployment", _rollback, True),
    ]
    for name, help_text, handler, needs_endpoint in specs:
        parser = commands.add_parser(
            name,
            help=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(parser, needs_endpoint=needs_endpoint)
        parser.set_defaults(handler=partial(handler, deps=deps))
        _command_options(parser, name)


def _command_options(parser: argparse.ArgumentParser, name: str) -> None:
    """The options of one `argocd` subcommand beyond the common ones."""
    if name != "diff":
        parser.add_argument(
            "--format", choices=("table", "json"), default="table", help="output format"
        )
    if name in ("sync", "rollback"):
        parser.add_argument("--prune", action="store_true", help="delete objects not in git")
        parser.add_argument("--dry-run", action="store_true", help="only show what would change")
    if name == "sync":
        parser.add_argument("--revision", metavar="REV", help="git revision to sync to")
    if name == "rollback":
        parser.add_argument(
            "--to", type=int, metavar="ID", help="history id (default: the previous deployment)"
        )
    if name == "diff":
        parser.add_argument(
            "--exit-code", action="store_true", help="exit 1 when there are differences"
        )
    if name in ("sync", "wait", "rollback"):
        if name != "wait":
            parser.add_argument("--wait", action="store_true", help="then wait like `wait`")
        parser.add_argument(
            "--timeout",
            type=_duration,
            default=600.0,
            metavar="DURATION",
            help="give up after this long (e.g. 90s, 10m, 1h; default 10m)",
        )
        parser.add_argument("--health", action="store_true", help="also wait until Healthy")


def _common(parser: argparse.ArgumentParser, *, needs_endpoint: bool) -> None:
    parser.add_argument(
        "endpoint",
        nargs=None if needs_endpoint else "?",
        metavar="ENDPOINT",
        help="endpoint name (also `platform` or `root`)"
        + ("" if needs_endpoint else "; all applications of the environment when left out"),
    )
    parser.add_argument("--env", required=True, metavar="ENV", help="environment name")
    parser.add_argument("--server", metavar="URL", help="Argo CD URL (default: $ARGOCD_SERVER)")
    parser.add_argument(
        "--project", metavar="NAME", help="AppProject (default: argocd.project of the environment)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="repository root holding environments/ (default: current directory)",
    )
    parser.add_argument(
        "--ca-file", metavar="PEM", help="CA bundle to verify Argo CD's certificate"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify the TLS certificate (not for CI)"
    )


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (examples: 90s, 10m, 1h)")
    return float(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2] or "s"]


# -- scope and client -------------------------------------------------------------------------


def _scope(args: argparse.Namespace) -> Scope:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", args.env):
        raise UsageError(f"--env {args.env!r} is not an environment name")
    if args.project:
        return Scope(args.env, args.project, args.project, None)
    from compiler.environments import load_environment

    root = Path(args.root).resolve()
    file = root / "environments" / f"{args.env}.jsonnet"
    if not file.is_file():
        raise UsageError(
            f"environments/{args.env}.jsonnet not found under {root}: run from the repository "
            "root, pass --root DIR, or pass --project NAME"
        )
    environment, _source = load_environment(root, file)
    settings = environment.argocd
    return Scope(
        args.env,
        settings.project,
        settings.rootProject or settings.project,
        None if settings.namespace == "argocd" else settings.namespace,
    )


def _client(args: argparse.Namespace, deps: Deps) -> ArgoCDClient:
    server = args.server or deps.environ.get("ARGOCD_SERVER", "")
    return ArgoCDClient(
        server=server,
        token=deps.environ.get("ARGOCD_AUTH_TOKEN") or None,
        username=deps.environ.get("ARGOCD_USERNAME") or None,
        password=deps.environ.get("ARGOCD_PASSWORD") or None,
        ca_file=args.ca_file,
        insecure=args.insecure,
        transport=deps.transport,
        sleep=deps.sleep,
    )


def _listed(client: ArgoCDClient, scope: Scope) -> list[Application]:
    """Every application labelled with the environment (in its projects), by name."""
    projects: Sequence[str | None] = sorted({p for p in (scope.project, scope.root_project) if p})
    apps: dict[str, Application] = {}
    for project in projects or [None]:
        for app in client.list_applications(
            selector=naming.env_selector(scope.env),
            project=project,
            app_namespace=scope.app_namespace,
        ):
            apps[app.name] = app
    if not apps:
        raise ArgoCDError(
            f"no Argo CD application labelled {naming.env_selector(scope.env)} in project "
            f"{scope.project}: bootstrap with `kubectl apply -n argocd -f "
            f"rendered/{scope.env}/platform/argocd/application-{naming.root_name(scope.env)}.yaml`"
        )
    return [apps[name] for name in sorted(apps)]


def _names(args: argparse.Namespace, client: ArgoCDClient, scope: Scope) -> list[str]:
    if args.endpoint:
        return [naming.application_name(scope.env, args.endpoint)]
    return [app.name for app in _listed(client, scope)]


# -- commands ---------------------------------------------------------------------------------


def _status(args: argparse.Namespace, deps: Deps) -> int:
    scope = _scope(args)
    with _client(args, deps) as client:
        if args.endpoint:
            name = naming.application_name(scope.env, args.endpoint)
            project = scope.project_of(name)
            apps = [
                client.get_application(name, project=project, app_namespace=scope.app_namespace)
            ]
        else:
            apps = _listed(client, scope)  # one request, whatever the number of endpoints
    print_status(apps, args.format)
    return 0


def _sync(args: argparse.Namespace, deps: Deps) -> int:
    scope = _scope(args)
    with _client(args, deps) as client:
        names = _names(args, client, scope)
        failures: list[APIError] = []
        started = []
        for name in names:
            try:
                client.sync(
                    name,
                    project=scope.project_of(name),
                    prune=args.prune,
                    dry_run=args.dry_run,
                    revision=args.revision,
                    app_namespace=scope.app_namespace,
                )
            except APIError as error:
                if len(names) == 1:
                    raise
                failures.append(error)
                print(f"knobless: error: {name}: {error.message}", file=sys.stderr)
                continue
            started.append(name)
            print(f"{name}: sync started", file=sys.stderr)
        if args.wait and started:
            _wait_for(args, deps, client, scope, started, refresh_first=False, synced=True)
    return max((f.exit_code for f in failures), default=0)


def _wait(args: argparse.Namespace, deps: Deps) -> int:
    scope = _scope(args)
    with _client(args, deps) as client:
        names = _names(args, client, scope)
        _wait_for(args, deps, client, scope, names, refresh_first=True, synced=True)
    return 0


class _ChangeReporter:
    """Prints an application's state on stderr each time it changes while waiting."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, app: Application) -> None:
        state = app.status.operationState
        line = f"{app.status.sync.status}/{app.status.health.status}" + (
            f", operation {state.phase}" if state and state.phase else ""
        )
        if self._seen.get(app.name) != line:
            self._seen[app.name] = line
            print(f"{app.name}: {line}", file=sys.stderr)


def _wait_for(
    args: argparse.Namespace,
    deps: Deps,
    client: ArgoCDClient,
    scope: Scope,
    names: list[str],
    *,
    refresh_first: bool,
    synced: bool,
) -> None:
    report = _ChangeReporter()
    # Apps of two projects (root and the rest) are waited for in separate rounds.
    apps: list[Application] = []
    for project in dict.fromkeys(scope.project_of(n) for n in names):
        group = tuple(n for n in names if scope.project_of(n) == project)
        target = Target(
            group,
            project,
            scope.app_namespace,
            health=args.health,
            dry_run=getattr(args, "dry_run", False),
            synced=synced,
        )
        apps += wait(
            client,
            target,
            timeout=args.timeout,
            refresh_first=refresh_first,
            clock=deps.clock,
            sleep=deps.sleep,
            on_poll=report,
        )
    print_status(sorted(apps, key=lambda a: a.name), args.format)


def _diff(args: argparse.Namespace, deps: Deps) -> int:
    scope = _scope(args)
    name = naming.application_name(scope.env, args.endpoint)
    with _client(args, deps) as client:
        resources = client.managed_resources(
            name, project=scope.project_of(name), app_namespace=scope.app_namespace
        )
    text = unified_diff(resources)
    sys.stdout.write(text)
    return 1 if text and args.exit_code else 0


REFUSED = (
    "{name} has automated sync on, so Argo CD refuses a rollback (it would put git's version "
    "right back). Roll back the GitOps way: revert the commit that broke it (`git revert "
    "<commit>`), merge, and let Argo CD sync. In an emergency, set `argocd.automated: null` for "
    "environment {env} first."
)


def _rollback(args: argparse.Namespace, deps: Deps) -> int:
    scope = _scope(args)
    name = naming.application_name(scope.env, args.endpoint)
    project = scope.project_of(name)
    with _client(args, deps) as client:
        app = client.get_application(name, project=project, app_namespace=scope.app_namespace)
        if app.spec.auto_sync:
            raise ArgoCDError(REFUSED.format(name=name, env=scope.env))
        history = sorted(app.status.history, key=lambda h: h.id)
        if args.to is not None:
            entry = next((h for h in history if h.id == args.to), None)
            if entry is None:
                ids = ", ".join(str(h.id) for h in history) or "none"
                raise ArgoCDError(f"{name} has no history entry {args.to} (ids: {ids})")
        elif len(history) < 2:
            raise ArgoCDError(
                f"{name} has no earlier deployment to roll back to ({len(history)} in its history)"
            )
        else:
            entry = history[-2]
        try:
            client.rollback(
                name,
                history_id=entry.id,
                project=project,
                prune=args.prune,
                dry_run=args.dry_run,
                app_namespace=scope.app_namespace,
            )
        except AutoSyncEnabled:
            raise ArgoCDError(REFUSED.format(name=name, env=scope.env)) from None
        print(
            f"{name}: rollback to history {entry.id} ({entry.revision[:7]}) started",
            file=sys.stderr,
        )
        if args.wait:
            _wait_for(args, deps, client, scope, [name], refresh_first=False, synced=False)
    return 0
