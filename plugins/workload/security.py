"""Pod Security Standard "restricted", applied to every container of every pod we render.

https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted: non-root,
no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. On top of that the
root filesystem is read-only; runtimes mount emptyDirs where they must write.
"""

from __future__ import annotations

from typing import Any

RUN_AS_USER = 65532
"""The non-root UID of the containers whose images we choose. Runtime images that default to root
(vLLM, Triton, MLflow) run fine as any UID once HOME and caches point at a writable emptyDir,
which the runtimes arrange. A team's own image keeps the non-root USER it declares."""


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "fsGroup": RUN_AS_USER,
        # Volumes are fresh emptyDirs and ConfigMaps: never walk a model's files to chown them.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(run_as_user: int | None = RUN_AS_USER) -> dict[str, Any]:
    """`run_as_user` None: the image's own USER (the kubelet refuses to start it if that is root)."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
        context["runAsGroup"] = run_as_user
    context["capabilities"] = {"drop": ["ALL"]}
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context


def restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """Why `pod_spec` fails "restricted" (empty when it passes). Used by tests and checks."""
    problems = []
    pod = pod_spec.get("securityContext", {})
    if pod.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        problems.append("pod: seccompProfile must be RuntimeDefault or Localhost")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(field):
            problems.append(f"pod: {field} is not allowed")
    for volume in pod_spec.get("volumes", ()):
        if "hostPath" in volume:
            problems.append(f"volume {volume['name']}: hostPath is not allowed")
    containers = [*pod_spec.get("initContainers", ()), *pod_spec.get("containers", ())]
    for container in containers:
        name = container["name"]
        context = container.get("securityContext", {})
        if not (context.get("runAsNonRoot") or pod.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot must be true")
        if context.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser must not be 0")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if context.get("privileged"):
            problems.append(f"{name}: privileged is not allowed")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}: capabilities must drop ALL")
        if set(context.get("capabilities", {}).get("add", ())) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: only NET_BIND_SERVICE may be added")
        seccomp = context.get("seccompProfile", pod.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem must be true (knobless policy)")
        if any("hostPort" in port for port in container.get("ports", ())):
            problems.append(f"{name}: hostPort is not allowed")
    return problems
