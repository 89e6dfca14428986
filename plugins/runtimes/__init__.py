"""Built-in serving runtimes: choosing one per served version, and what each puts in a pod.

Selection (`knobless_select_runtime`) runs last (trylast), so a third-party plugin may claim a
model first. Validation (`knobless_validate_endpoint`) reports combinations that cannot run.
Other plugins use `runtime_module`, `default_per_replica` and `per_replica_range`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from compiler import hookimpl
from plugins.runtimes import custom, mlflow, triton, vllm
from plugins.runtimes.selection import BUILTIN_RUNTIMES, select_runtime
from plugins.runtimes.validation import validate_endpoint

if TYPE_CHECKING:
    from compiler.context import EndpointContext, Resources, RuntimeChoice
    from compiler.diagnostics import Diagnostic
    from compiler.models.endpoint import EndpointSpec, ServedModel
    from compiler.models.environment import Environment

RUNTIMES: dict[str, ModuleType] = {
    "mlflow": mlflow,
    "vllm": vllm,
    "triton": triton,
    "custom": custom,
}
"""Runtime name -> module with `build(served, endpoint) -> RuntimePod` and `default_per_replica`."""

FALLBACK_PER_REPLICA = (1, 100, 10)
"""(min, max, initial) for a runtime a third-party plugin brought and we know nothing about."""

__all__ = [
    "BUILTIN_RUNTIMES",
    "RUNTIMES",
    "default_per_replica",
    "per_replica_range",
    "runtime_module",
]


def runtime_module(name: str) -> ModuleType | None:
    """The built-in runtime module of `name`; None for a plugin's own runtime."""
    return RUNTIMES.get(name)


def default_per_replica(runtime_name: str, resources: Resources) -> tuple[int, int, int]:
    """(min, max, initial) in-flight requests one replica of this runtime takes by default: the
    bounds and starting point of what the APA scaler learns when the spec has no `perReplica`."""
    module = runtime_module(runtime_name)
    if module is None:
        return FALLBACK_PER_REPLICA
    low, high, initial = module.default_per_replica(resources)
    return int(low), int(high), int(initial)


def per_replica_range(
    spec: EndpointSpec, runtime_name: str, resources: Resources
) -> tuple[int, int, int]:
    """(min, max, initial) after the spec's `scaling.perReplica`, which replaces the runtime's
    bounds; `initial` is the runtime's default clamped into them."""
    low, high, initial = default_per_replica(runtime_name, resources)
    bounds = spec.scaling.perReplica
    if bounds is not None:
        low, high = bounds.min, bounds.max
    return low, high, min(max(initial, low), high)


@hookimpl(trylast=True)
def knobless_select_runtime(
    served: ServedModel, spec: EndpointSpec, environment: Environment
) -> RuntimeChoice | None:
    return select_runtime(served, environment)


@hookimpl
def knobless_validate_endpoint(endpoint: EndpointContext, source: str) -> Iterable[Diagnostic]:
    return list(validate_endpoint(endpoint, source))
