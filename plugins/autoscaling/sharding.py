"""Which scaler shard answers for a ScaledObject: rendezvous (highest random weight) hashing.

Each ScaledObject goes to the shard with the highest hash of (`<namespace>/<name>`, shard). The
choice depends on nothing but the object's own key and the number of shards, so adding or removing
an endpoint never moves another one, and adding a shard moves only the objects the new shard wins
(about 1/n of them). The hash is blake2b: stable across processes, machines and Python versions,
unlike the salted built-in `hash()`.
"""

from __future__ import annotations

import hashlib

SCALER_NAME = "knobless-apa"
"""StatefulSet and headless Service name of the scaler; shard i is pod `knobless-apa-<i>`."""


def _weight(key: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{key}\x00{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign_shard(namespace: str, name: str, shards: int) -> int:
    """The shard (0-based StatefulSet ordinal) that serves ScaledObject `namespace/name`."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    key = f"{namespace}/{name}"
    # Ties (a 64-bit collision) go to the lower ordinal, so the result stays deterministic.
    return max(range(shards), key=lambda shard: (_weight(key, shard), -shard))


def shard_host(shard: int, scaler_namespace: str) -> str:
    """Stable DNS name of one shard's pod behind the headless Service."""
    return f"{SCALER_NAME}-{shard}.{SCALER_NAME}.{scaler_namespace}.svc.cluster.local"


def shard_address(shard: int, scaler_namespace: str, port: int) -> str:
    """`host:port` of one shard, as KEDA's `scalerAddress` expects."""
    return f"{shard_host(shard, scaler_namespace)}:{port}"
