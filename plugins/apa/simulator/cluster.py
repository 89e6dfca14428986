"""The simulated serving side: pods that take time to start (the queue each replica serves
requests by is in plugins/apa/simulator/queueing.py).

Requests are spread over ready replicas by a gateway balancing by least requests, so the ready
replicas serve as one pool of ready x capacity slots.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass
class Pods:
    """Pods of one Deployment, oldest first, each with the time it becomes Ready."""

    startup_s: float
    ready_at: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ready_at)

    def ready(self, now: float) -> int:
        # Pods are created in time order with the same start-up time: ready_at is sorted.
        return bisect_right(self.ready_at, now)

    def ready_since(self, now: float, seconds: float) -> int:
        """Pods Ready for at least `seconds`."""
        return bisect_right(self.ready_at, now - seconds)

    def scale(self, now: float, replicas: int) -> None:
        """Set spec.replicas: new pods start now; removal takes the newest (not-ready) first,
        as the ReplicaSet controller ranks unready and younger pods for deletion first."""
        if replicas > len(self.ready_at):
            self.ready_at.extend([now + self.startup_s] * (replicas - len(self.ready_at)))
        elif replicas < len(self.ready_at):
            del self.ready_at[replicas:]
