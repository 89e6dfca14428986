"""Reference policies: what a perfectly informed *reactive* autoscaler would get.

Both know, every second, the true demand — the trace's rate x service time x cost over the true
per-replica capacity, the figure no real controller has — and react to it at once:

- `oracle` sets spec.replicas to it directly: no metrics lag, no KEDA, no HPA. Pods still take
  their start-up time. Nothing reactive does better without keeping spare replicas standing.
- `oracle-hpa` reports it as the External metric through KEDA and the HPA exactly as rendered
  (15 s syncs, tolerance, the scale-up and scale-down policies): the best any scaler can do
  behind that HPA.

`headroom` multiplies the demand (the spare a policy would have to keep standing), so the
benchmark can say how much standing capacity a target needs when reacting cannot meet it.
"""

from __future__ import annotations

import math

import numpy as np

from plugins.apa.simulator.constants import REFERENCES
from plugins.apa.simulator.endpoint import ServedSystem
from plugins.apa.simulator.policies import KedaHpaPolicy, View
from plugins.apa.simulator.profile import Profile

ORACLES = REFERENCES


def true_replicas(rate: np.ndarray, cost: np.ndarray, profile: Profile) -> np.ndarray:
    """Replicas the demand of each second needs at the true capacity (fractional)."""
    return rate * (profile.service_time_ms / 1000.0) * cost / profile.replica_capacity


class OracleHpaPolicy(KedaHpaPolicy):
    name = "oracle-hpa"

    def __init__(
        self,
        system: ServedSystem,
        needed: np.ndarray,
        phases: tuple[float, float],
        headroom: float = 1.0,
    ) -> None:
        super().__init__(system, system.min_replicas, 1.0, phases)
        self.needed = needed * headroom

    def value(self, view: View) -> float:
        # The demand of the second just simulated (view.now is its end).
        return float(self.needed[min(int(view.now) - 1, len(self.needed) - 1)])


class OraclePolicy:
    name = "oracle"

    def __init__(self, system: ServedSystem, needed: np.ndarray, headroom: float = 1.0) -> None:
        self.needed = needed * headroom
        self.minimum = system.min_replicas
        self.maximum = max(system.max_replicas, 1)
        self.initial = max(1, self.minimum)

    def tick(self, view: View) -> int | None:
        need = float(self.needed[min(int(view.now) - 1, len(self.needed) - 1)])
        replicas = min(max(self.minimum, math.ceil(need - 1e-9)), self.maximum)
        return replicas if replicas != view.pods else None
