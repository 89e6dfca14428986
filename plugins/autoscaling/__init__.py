"""Built-in autoscaling: a KEDA ScaledObject per served version, the APA scaler's platform objects.

Modules by output: `scaledobject` (one per served version), `triggerauth` (mTLS to the scaler),
`scaler_platform` (the scaler's StatefulSet and friends); the arithmetic in `sizing`, the
runtime table in `defaults`, the HPA behavior in `behavior`, shard assignment in `sharding`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from compiler import Diagnostic, EndpointContext, Environment, Manifest, hookimpl
from compiler.summary import EndpointSummary
from plugins.autoscaling.capacity import Locate, check_scaler
from plugins.autoscaling.scaledobject import render_scaled_object
from plugins.autoscaling.scaler_platform import render_platform
from plugins.autoscaling.triggerauth import render_trigger_authentication


@hookimpl
def knobless_render_endpoint(endpoint: EndpointContext) -> Iterable[Manifest]:
    manifests = [
        Manifest(endpoint.spec.name, render_scaled_object(endpoint, served))
        for served in endpoint.served
    ]
    if endpoint.environment.scaler.tls.enabled:
        manifests.append(
            Manifest(
                endpoint.spec.name,
                render_trigger_authentication(endpoint.spec.name, endpoint.environment),
            )
        )
    return manifests


@hookimpl
def knobless_render_environment(environment: Environment) -> Iterable[Manifest]:
    return render_platform(environment)


@hookimpl
def knobless_lint_environment(
    environment: Environment, summaries: Sequence[EndpointSummary], locate: Locate
) -> Iterable[Diagnostic]:
    """The shard count against every ScaledObject of the environment (one per served version)."""
    return check_scaler(environment, sum(len(s.served) for s in summaries), locate)
