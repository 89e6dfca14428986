"""What the proving ground reads from rendered/: the model container of a Deployment and the
trigger of its ScaledObject, exactly as `knobless compile` wrote them (never retyped)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler.quantity import parse_quantity


@dataclass(frozen=True)
class ModelContainer:
    """The Deployment's `model` container: what the kubelet would exec."""

    command: tuple[str, ...]
    args: tuple[str, ...]
    env: dict[str, str]
    port: int
    cpu_limit_cores: float
    readiness_path: str

    def argv(self, *, host: str, port: int) -> list[str]:
        """command + args with the listen address moved to `host:port`.

        The container listens on 0.0.0.0:<containerPort>; a process on a shared machine has to
        take a free loopback port instead. Works whether the port is its own argument
        (`--port 8080`), joined (`--port=8080`) or inside a shell line (`sh -c "exec ... 8080"`),
        so a wrapper (tini, `exec`) around the server changes nothing here.
        """
        words = [*self.command, *self.args]
        own = re.compile(rf"(?<![\w.]){self.port}(?![\w.])")
        return [own.sub(str(port), word.replace("0.0.0.0", host)) for word in words]


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def model_container(deployment: Path, name: str = "model") -> ModelContainer:
    spec = _yaml(deployment)["spec"]["template"]["spec"]
    container = next(c for c in spec["containers"] if c["name"] == name)
    env = {item["name"]: str(item["value"]) for item in container.get("env", ()) if "value" in item}
    resources = container.get("resources", {})
    # A pod without a CPU limit may use what the node has; the proving ground then limits it to
    # its request, as a node fully packed with such pods would.
    cpu = resources.get("limits", {}).get("cpu") or resources["requests"]["cpu"]
    return ModelContainer(
        command=tuple(container.get("command", ())),
        args=tuple(container.get("args", ())),
        env=env,
        port=int(container["ports"][0]["containerPort"]),
        cpu_limit_cores=float(parse_quantity(str(cpu))),
        readiness_path=container["readinessProbe"]["httpGet"]["path"],
    )


@dataclass(frozen=True)
class Trigger:
    """A ScaledObject's external trigger and the KEDA settings around it."""

    name: str
    namespace: str
    metadata: dict[str, str]
    polling_interval_s: int
    min_replicas: int
    max_replicas: int
    behavior: dict[str, Any]


def trigger(scaledobject: Path) -> Trigger:
    data = _yaml(scaledobject)
    spec = data["spec"]
    return Trigger(
        name=data["metadata"]["name"],
        namespace=data["metadata"]["namespace"],
        metadata={k: str(v) for k, v in spec["triggers"][0]["metadata"].items()},
        polling_interval_s=int(spec.get("pollingInterval", 30)),
        min_replicas=int(spec.get("minReplicaCount", 0)),
        max_replicas=int(spec["maxReplicaCount"]),
        behavior=spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
    )


def queries(platform: Path) -> dict[str, str]:
    """The environment's `prometheus.queries` as rendered for the scaler's `--queries`."""
    data = _yaml(platform / "configmap-knobless-apa-queries.yaml")
    loaded = json.loads(data["data"]["queries.json"])
    assert isinstance(loaded, dict)
    return {str(k): str(v) for k, v in loaded.items()}
