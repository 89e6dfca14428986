"""The HPA behavior every ScaledObject carries: quick to grow, slow and gentle to shrink.

Scale-up: no stabilization, and per 15 s (the HPA sync period) the larger of +100% or +4 pods,
so a burst doubles capacity each sync while a small deployment still grows by whole steps.
Scale-down: a recommendation must hold for 300 s (the highest of the last five minutes wins) and
then at most 10% of the pods go per minute, the most conservative policy winning (`Min`), so a
lull between two bursts does not drain the replicas the next burst needs.

No `tolerance`: it needs the HPAConfigurableTolerance feature gate, alpha (off) in Kubernetes
1.33, the version rendered objects target; the cluster-wide 10% applies. With the scaler
reporting replicas needed against a target of 1, 10% means "no change for less than a tenth of a
replica per replica", which is what we want anyway.
"""

from __future__ import annotations

from typing import Any

SYNC_SECONDS = 15
SCALE_DOWN_WINDOW_SECONDS = 300


def hpa_behavior() -> dict[str, Any]:
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": SYNC_SECONDS},
                {"type": "Pods", "value": 4, "periodSeconds": SYNC_SECONDS},
            ],
            "selectPolicy": "Max",
        },
        "scaleDown": {
            "stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
            "selectPolicy": "Min",
        },
    }
