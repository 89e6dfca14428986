"""KEDA's scale loop for one ScaledObject (pkg/scaling/executor/scale_scaledobjects.go,
RequestScale), checked against its unit tests in tests/simulator/upstream/test_keda.py.

Every `pollingInterval` the operator asks the scaler (GetMetrics, then IsActive). Active: a
Deployment at 0 (or, with idleReplicaCount, below minReplicaCount) goes to minReplicaCount, at
least 1, right away, and the last-active time is refreshed. Inactive: above idleReplicaCount, or
above 0 with minReplicaCount 0, the Deployment goes to idleReplicaCount (else minReplicaCount)
once `cooldownPeriod` has passed since the last active moment — or, if it never was active,
`initialCooldownPeriod` (default 0) since the ScaledObject was created; below minReplicaCount
(without idleReplicaCount) it goes to minReplicaCount. Everything else is the HPA's (which stops
at 0 replicas: KEDA owns 0 <-> 1). Both waits are strict (`t.Add(cooldown).Before(now)`).
Not modelled: the pause annotations, forced activation, fallback on scaler errors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KedaLoop:
    min_replicas: int
    polling_interval_s: float
    cooldown_s: float
    last_active: float | None = None
    """status.lastActiveTime: None until a poll found the scaler active."""
    idle_replicas: int | None = None
    initial_cooldown_s: float = 0.0
    created_at: float = 0.0

    def poll(self, now: float, active: bool, current: int) -> int:
        """The replica count after one scale-loop pass."""
        idle = self.idle_replicas
        if active:
            if (idle is not None and current < self.min_replicas) or current == 0:
                self.last_active = now
                return max(1, self.min_replicas)
            self.last_active = now
            return current
        if (idle is not None and current > idle) or (current > 0 and self.min_replicas == 0):
            if self._cooled_down(now):
                return self.min_replicas if idle is None else idle
            return current
        if idle is None and current < self.min_replicas:
            return self.min_replicas
        return current

    def _cooled_down(self, now: float) -> bool:
        if self.last_active is None:
            return self.created_at + self.initial_cooldown_s < now
        return self.last_active + self.cooldown_s < now
