"""Every hook knobless calls, in pipeline order.

Built-in features (plugins/) and third-party plugins implement these with `compiler.hookimpl`.
Hooks receive frozen inputs and return new values (or nothing); they never mutate what they get.
When several plugins implement a collecting hook, results are put in a stable order by the caller
(plugin priority, then plugin name), never pluggy's registration order. An `environment`
argument is always an `Environment` (the validated settings of `environments/<env>.jsonnet`;
`environment.source` is that file), as is `EndpointContext.environment`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from compiler.context import EndpointContext, RuntimeChoice
    from compiler.diagnostics import Diagnostic
    from compiler.manifest import Manifest
    from compiler.models.endpoint import EndpointSpec, ServedModel
    from compiler.models.environment import Environment
    from compiler.review.lint import LintRule
    from compiler.summary import EndpointSummary

PROJECT = "knobless"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def knobless_add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Called once while the CLI is built, before arguments are parsed (collect, results ignored).

    Add sub-commands with `subparsers.add_parser(...)` and `set_defaults(handler=fn)`, where
    `fn(args) -> int` returns the exit code. Only built-in and entry-point plugins are asked.
    """


@hookspec
def knobless_validate_endpoint(
    spec: EndpointSpec, environment: Environment, source: str, endpoint: EndpointContext
) -> Iterable[Diagnostic] | None:
    """Called per endpoint and environment after the merged spec has passed model validation and
    runtimes are chosen (collect). Return problems a schema cannot express (impossible runtime
    combinations, policy). `source` is the endpoint file's path relative to the repository root;
    `endpoint.locate(field_path)` gives the file, line and column of any field. A Diagnostic with
    line 0 whose message starts with a field path (`served[0].runtime: ...`) is placed at that
    field. Implementations may take any subset of the arguments.
    """


@hookspec(firstresult=True)
def knobless_select_runtime(
    served: ServedModel, spec: EndpointSpec, environment: Environment
) -> RuntimeChoice | None:
    """Called per served version while resolving (firstresult): the first plugin that returns a
    RuntimeChoice claims the model. Built-in runtimes run last (trylast), so a third-party plugin
    can claim a model first.
    """


@hookspec
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest] | None:
    """Called per endpoint and environment (collect). Pure: data in, manifests out; no I/O, no clock."""


@hookspec
def knobless_render_environment(
    environment: Environment,
    summaries: Sequence[EndpointSummary],
    endpoints: Sequence[EndpointContext],
) -> Iterable[Manifest] | None:
    """Called once per environment, after its endpoints (collect): objects of the environment as
    a whole, such as the APA scaler and the Argo CD root Application. Objects that belong to one
    endpoint (even in a shared folder, like its Argo CD Application) come from
    knobless_render_endpoint instead, so an incremental compile re-renders only what changed.
    `summaries`: every endpoint the environment deploys, summarized (cheap, cached).
    `endpoints`: the same, fully resolved, computed on first use: an incremental compile resolves
    every endpoint again when an implementation takes this argument, so prefer `summaries`.
    Implementations may take any subset of the arguments.
    """


@hookspec
def knobless_postprocess(
    manifests: tuple[Manifest, ...], environment: Environment
) -> tuple[Manifest, ...] | None:
    """Called per batch of one environment's manifests, plugin after plugin (a chain, in
    priority then name order): each receives the previous plugin's output and returns a new tuple,
    or None to keep it. Labels, annotations, sync waves, config hashes. Large repositories are
    called once per endpoint with that endpoint's objects, and once with the environment-wide
    objects. Its output for an endpoint must depend on that endpoint's objects (and the
    environment) alone: an incremental compile calls it for the changed endpoints only.
    Implementations may take any subset of the arguments (and use `specname`), as with every hook;
    wrappers are not part of the chain.
    """


@hookspec
def knobless_check(
    manifests: tuple[Manifest, ...], environment: Environment
) -> Iterable[Diagnostic] | None:
    """Called once per endpoint with its final objects, and once with the environment-wide
    objects (collect; as for knobless_postprocess): policy checks and schema validation. Any
    error-severity Diagnostic fails the compile. Warnings about an unchanged endpoint are
    replayed from the compile cache. Rules about the environment as a whole (counts, totals)
    belong in knobless_lint_environment, which sees every endpoint's summary.
    """


@hookspec
def knobless_lint_rules() -> Iterable[LintRule] | None:
    """Called once per lint run (collect): the rules this plugin checks, each with its id, default
    severity and a one-line reason. Lets `lint: {ignore: {rule-id: why}}` be checked for typos
    and the generated docs/reference/lint-rules.md list every rule.
    """


@hookspec
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic] | None:
    """Called per endpoint and environment after resolution, in the validate stage (collect).
    Semantic lint: return Diagnostics with `rule=<rule-id>`, placed with
    `endpoint.locate(field_path)`. Rules the endpoint switched off (`lint.ignore`) are dropped by
    the caller, and `--strict` turns warnings into errors; a rule need not handle either.
    """


@hookspec
def knobless_lint_environment(
    environment: Environment,
    summaries: Sequence[EndpointSummary],
    endpoints: Sequence[EndpointContext],
    endpoint_names: Sequence[str],
    locate: Callable[[tuple[str | int, ...]], tuple[str, int, int]],
) -> Iterable[Diagnostic] | None:
    """Called once per environment after every endpoint resolved (collect), on every compile and
    validate. `summaries`: the endpoints this environment deploys, summarized (cheap, cached);
    `endpoints`: the same fully resolved, computed on first use (an incremental compile then
    resolves every endpoint again: prefer `summaries`); `endpoint_names` every endpoint file of
    the repository (excluded ones too); `locate(path)` the (file, line, col) of a field of the
    environment, e.g. ("overrides", "fraud-scorer"). Return Diagnostics with `rule=<rule-id>`.
    Implementations may take any subset of the arguments.
    """
