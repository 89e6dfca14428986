"""The HPA behavior every ScaledObject carries: one sync reaches what the load needs, shrinking
is slow and gentle.

Scale-up: no stabilization, and one policy allowing `maxReplicaCount` pods per 15 s (the HPA
sync period): the HPA goes in one sync wherever the scaler's answer says. The cap is in that
answer, relative to the load the scaler measures (plugins/apa/surge.py: a reading may jump to at
most 1.5x the accepted level until a later scrape confirms it), where a bad scrape can be told
from real traffic; a replica-count cap here (Kubernetes' default, max(+100%, +4 pods) per sync)
made a 10x spike wait three syncs.
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


def hpa_behavior(max_replicas: int) -> dict[str, Any]:
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            # A Pods policy's value must be > 0 (maxReplicaCount is at least 1).
            "policies": [
                {"type": "Pods", "value": max(1, max_replicas), "periodSeconds": SYNC_SECONDS}
            ],
            "selectPolicy": "Max",
        },
        "scaleDown": {
            "stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS,
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
            "selectPolicy": "Min",
        },
    }
