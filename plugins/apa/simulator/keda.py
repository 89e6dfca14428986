"""KEDA's scale loop for one ScaledObject (pkg/scaling/executor/scale_scaledobjects.go).

Every `pollingInterval` the operator asks the scaler (GetMetrics, then IsActive). Active: the
last-active time is refreshed and a Deployment at 0 goes to max(1, minReplicaCount) right away.
Inactive: with minReplicaCount 0 and `cooldownPeriod` seconds since the last active moment the
Deployment goes to 0; below minReplicaCount it goes to minReplicaCount. Everything between 1 and
max is the HPA's (which stops at 0 replicas: KEDA owns 0 <-> 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KedaLoop:
    min_replicas: int
    polling_interval_s: float
    cooldown_s: float
    last_active: float | None = None

    def poll(self, now: float, active: bool, current: int) -> int:
        """The replica count after one scale-loop pass."""
        if active:
            self.last_active = now
            if current == 0:
                return max(1, self.min_replicas)
            return current
        if self.min_replicas == 0 and current > 0:
            # status.lastActiveTime is set on creation too: a fresh object waits a full cooldown.
            since = now if self.last_active is None else self.last_active
            if self.last_active is None:
                self.last_active = now
            if now - since >= self.cooldown_s:
                return 0
            return current
        if current < self.min_replicas:
            return self.min_replicas
        return current
