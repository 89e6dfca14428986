"""prod-min-zero-cold-start: a GPU or LLM endpoint in production allowed to scale to zero.

Loading a model onto GPUs takes minutes (a 70B model: pulling weights, warming CUDA graphs), so
the first request after an idle period would wait that long or time out.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import hookimpl
from compiler.context import EndpointContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.review.lint import LintRule
from plugins.lint._common import at_field, ignore_hint

RULE = "prod-min-zero-cold-start"
PRODUCTION_PREFIX = "prod"
SLOW_RUNTIMES = frozenset({"vllm"})


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            RULE,
            Severity.WARNING,
            "a GPU or LLM endpoint in a prod* environment with concurrency min 0 scales to zero; "
            "the next request waits minutes for the model to load",
        )
    ]


def _slow_to_start(endpoint: EndpointContext) -> list[str]:
    slow = []
    for served in endpoint.served:
        llm = (served.spec.task or "").startswith("llm/") or served.runtime.name in SLOW_RUNTIMES
        if served.resources.gpu_count or llm:
            slow.append(served.spec.name)
    return slow


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    environment = endpoint.environment.name
    if not environment.startswith(PRODUCTION_PREFIX):
        return []
    if endpoint.spec.scaling.concurrency.min != 0:
        return []
    slow = _slow_to_start(endpoint)
    if not slow:
        return []
    return [
        at_field(
            endpoint,
            ("scaling", "concurrency", "min"),
            f"scaling.concurrency.min is 0 in `{environment}`: {', '.join(slow)} runs on GPUs or "
            "is an LLM, so after an idle period the next request waits for the model to load "
            "(minutes); keep a floor (min >= 1) in production" + ignore_hint(RULE),
            Severity.WARNING,
            RULE,
        )
    ]
