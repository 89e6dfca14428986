"""What the render hooks receive: resolved, frozen views of an endpoint in one environment.

Every hook's `environment` argument, and `EndpointContext.environment`, is an Environment (the
validated settings; `environment.source` is its file). `EnvironmentContext`, which wrapped it
for the environment-wide hooks, is deprecated: the name still imports, warns, and stands for
Environment (see compiler.deprecation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from compiler.models.endpoint import EndpointSpec, ServedModel
from compiler.models.environment import Environment


@dataclass(frozen=True, order=True)
class Origin:
    """Where a resolved value came from: a file position and the layer that set it."""

    path: str
    """File relative to the repository root (endpoint YAML or environment jsonnet/libsonnet)."""
    line: int
    """1-based line; 0 when the layer gives no position (e.g. a compiler default)."""
    col: int
    layer: str
    """One of: endpoint, defaults, patch, override, workload, runtime, lock, compiler-default."""

    def format(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}" if self.line else self.path
        return f"{where} ({self.layer})"


@dataclass(frozen=True)
class RuntimeChoice:
    """The serving runtime of one served version, and why it was chosen."""

    name: str
    """Runtime name: mlflow, vllm, triton, custom, or a plugin's own."""
    reason: str
    """One sentence a user reads in the Deployment annotation and `knobless explain`."""


@dataclass(frozen=True)
class Resources:
    """Concrete per-replica resources (a named workload resolved by the environment)."""

    cpu: str
    memory: str
    gpu_count: int = 0
    gpu_type: str | None = None
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[dict[str, Any], ...] = ()
    workload: str | None = None
    """The named workload these came from, if any."""

    @property
    def cpu_cores(self) -> Decimal:
        from compiler.models._base import parse_quantity_strict

        return parse_quantity_strict(self.cpu)


@dataclass(frozen=True)
class ModelImage:
    """The image built for a served model's dependencies, from images.lock."""

    reference: str
    """As rendered: `<repository>:<tag>`, with `@sha256:...` once a push recorded the digest."""
    dependencies: str
    """Dependency digest: versions with equal digests share the image."""
    origin: Origin
    """The model's entry in images.lock."""


@dataclass(frozen=True)
class ServedContext:
    """One served version, resolved."""

    spec: ServedModel
    resources: Resources
    runtime: RuntimeChoice
    traffic_percent: int
    image: ModelImage | None = None
    """Its locked model image; None when images.lock has no entry for the model in this
    environment (or was resolved against another registry)."""


@dataclass(frozen=True)
class EndpointContext:
    """One endpoint in one environment: the merged, validated spec and its resolved parts."""

    spec: EndpointSpec
    environment: Environment
    served: tuple[ServedContext, ...]
    source: str
    """Path of the endpoint file relative to the repository root."""
    origins: dict[tuple[str | int, ...], Origin] = field(default_factory=dict, compare=False)
    """Field path (as in the spec, e.g. ("scaling", "concurrency", "max")) -> where its value came
    from. Every leaf of the merged spec has an entry; `locate` answers for inner paths too."""

    def locate(self, path: tuple[str | int, ...]) -> Origin:
        """Origin of a field: its own, else the first leaf below it (an inner mapping is where its
        keys were written), else its nearest ancestor's; the endpoint file when nothing is known."""
        probe = path
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            below = [o for p, o in self.origins.items() if p[: len(probe)] == probe]
            if below:
                return min(below, key=lambda o: (o.layer != "endpoint", o.line))
            probe = probe[:-1]
        return Origin(self.source, 1, 1, "endpoint")

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str:
        return self.environment.namespace_for(self.spec.name)


if TYPE_CHECKING:
    EnvironmentContext: TypeAlias = Environment
    """Deprecated: hooks receive the Environment itself."""
else:

    class _EnvironmentContextType(type):
        """What old plugins do with the name: annotate with it, test isinstance(x, it), build
        one from an Environment and its file (`EnvironmentContext(environment, source)`)."""

        def __instancecheck__(cls, instance: object) -> bool:
            return isinstance(instance, Environment)

        def __call__(cls, environment: Environment, source: str | None = None) -> Environment:
            return environment

    class _EnvironmentContext(metaclass=_EnvironmentContextType):
        """Deprecated: hooks receive the Environment itself (compiler.Environment)."""

    _EnvironmentContext.__name__ = _EnvironmentContext.__qualname__ = "EnvironmentContext"

    def __getattr__(name: str) -> Any:
        if name == "EnvironmentContext":
            from compiler.deprecation import warn_deprecated

            warn_deprecated(
                "`EnvironmentContext` is deprecated: hooks receive the Environment itself; "
                "import `Environment` from compiler instead (`environment.environment.X` "
                "becomes `environment.X`); see docs/contributing/plugins.md#deprecations"
            )
            return _EnvironmentContext
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
