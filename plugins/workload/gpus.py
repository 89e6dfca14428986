"""GPU types: which nodes carry a `gpu.type`, and how much memory one GPU of it has.

NVIDIA GPU Feature Discovery (part of the GPU Operator) labels every GPU node with
`nvidia.com/gpu.product`: the NVML device name with spaces replaced by dashes (`Tesla-T4`,
`NVIDIA-H100-80GB-HBM3`). A type names every product it stands for, so a pod asking for
`nvidia-h100` lands on any H100 node and never on an L4. The environment's `gpuTypes` adds types
or replaces these (e.g. for a cluster labelled by its cloud's own node pools).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from compiler.models._base import parse_quantity_strict

if TYPE_CHECKING:
    from compiler.context import Resources
    from compiler.models.environment import Environment

PRODUCT_LABEL = "nvidia.com/gpu.product"
GIB = Decimal(2**30)


@dataclass(frozen=True)
class GpuType:
    products: tuple[str, ...]
    """Values of the node label that count as this type."""
    memory_gib: int
    """Memory of one GPU (the smallest of the products): bounds the weights a pod can hold."""
    label: str = PRODUCT_LABEL


BUILTIN_TYPES: dict[str, GpuType] = {
    "nvidia-t4": GpuType(("Tesla-T4",), 16),
    "nvidia-l4": GpuType(("NVIDIA-L4",), 24),
    "nvidia-a10g": GpuType(("NVIDIA-A10G",), 24),
    "nvidia-l40s": GpuType(("NVIDIA-L40S",), 48),
    "nvidia-a100": GpuType(
        (
            "NVIDIA-A100-PCIE-40GB",
            "NVIDIA-A100-SXM4-40GB",
            "NVIDIA-A100-80GB-PCIe",
            "NVIDIA-A100-SXM4-80GB",
        ),
        40,
    ),
    "nvidia-a100-80gb": GpuType(("NVIDIA-A100-80GB-PCIe", "NVIDIA-A100-SXM4-80GB"), 80),
    "nvidia-h100": GpuType(("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-NVL"), 80),
    "nvidia-h200": GpuType(("NVIDIA-H200",), 141),
}


def gpu_types(environment: Environment) -> dict[str, GpuType]:
    """Built-in types, with the environment's own laid over them by name."""
    types = dict(BUILTIN_TYPES)
    for name, given in environment.gpuTypes.items():
        memory = int(parse_quantity_strict(given.memory) / GIB)
        types[name] = GpuType(tuple(given.products), memory, given.label)
    return types


def gpu_type(resources: Resources, environment: Environment) -> GpuType | None:
    """The type of this pod's GPUs; None without GPUs, without a type, or for an unknown one."""
    if not resources.gpu_count or resources.gpu_type is None:
        return None
    return gpu_types(environment).get(resources.gpu_type)


def unknown_type_problem(resources: Resources, environment: Environment) -> str | None:
    """Why this pod's `gpu.type` selects no nodes (None when it does, or sets none)."""
    if not resources.gpu_count or resources.gpu_type is None:
        return None
    known = gpu_types(environment)
    if resources.gpu_type in known:
        return None
    return (
        f"GPU type {resources.gpu_type} is not one knobless can place (known: "
        f"{', '.join(sorted(known))}); add it to the environment's `gpuTypes` with the "
        f"`{PRODUCT_LABEL}` values of its nodes, or use one of the known types"
    )


def node_affinity(resources: Resources, environment: Environment) -> dict[str, Any] | None:
    """Required node affinity to the nodes of the pod's GPU type, unless the workload's own
    nodeSelector already names that label (the platform team chose the nodes)."""
    kind = gpu_type(resources, environment)
    if kind is None or any(key == kind.label for key, _ in resources.node_selector):
        return None
    expression = {"key": kind.label, "operator": "In", "values": list(kind.products)}
    terms = [{"matchExpressions": [expression]}]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }
