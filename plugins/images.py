"""Model images in the pods: which MLflow versions lack a locked image, digests, pull secrets.

The MLflow runtime runs each served version in the image images.lock gives it (see
compiler.images); a version without an entry falls back to the generic `runtimes.mlflow` image,
which may lack its libraries. That is an error in an environment with `images.strict` (unless
`images.unlocked` names the model with a reason) and a warning elsewhere. Post-processing pins
images the environment gives a digest for (`images.digests`) and adds `images.pullSecrets` to
every pod template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from compiler import hookimpl
from compiler.context import EndpointContext, ServedContext
from compiler.diagnostics import Diagnostic, Severity
from compiler.manifest import Manifest
from compiler.models.environment import Environment
from compiler.review.lint import LintRule
from plugins.lint._common import at_field

RULE = "image-unlocked"
LOCKED_RUNTIMES = frozenset({"mlflow"})
"""Runtimes that run a model's own Python dependencies; vLLM and Triton are generic engines."""
POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


def _unlocked(endpoint: EndpointContext) -> Iterator[tuple[int, ServedContext]]:
    for index, served in enumerate(endpoint.served):
        if served.runtime.name in LOCKED_RUNTIMES and served.spec.model and served.image is None:
            yield index, served


def _resolve_hint(environment: Environment) -> str:
    return f"run `knobless images resolve --env {environment.name}` and commit images.lock"


@hookimpl
def knobless_validate_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    environment = endpoint.environment
    if not environment.images.strict:
        return []
    problems = []
    for index, served in _unlocked(endpoint):
        model = served.spec.model
        assert model is not None  # _unlocked yields versions with a model
        if environment.images.waiver(model) is not None:
            continue
        origin = endpoint.locate(("served", index, "model"))
        problems.append(
            Diagnostic(
                origin.path,
                origin.line,
                origin.col,
                f"served[{index}].model: {model} has no image in images.lock for environment "
                f"`{environment.name}`, which requires one (images.strict): "
                f"{_resolve_hint(environment)} (or list the model under images.unlocked with "
                "the reason it may run the generic image)",
            )
        )
    return problems


@hookimpl
def knobless_lint_rules() -> Iterable[LintRule]:
    return [
        LintRule(
            RULE,
            Severity.WARNING,
            "a served MLflow version has no image of its own in images.lock: it runs the "
            "generic runtimes.mlflow image, which may lack its libraries (the pod crash-loops)",
        )
    ]


@hookimpl
def knobless_lint_endpoint(endpoint: EndpointContext) -> Iterable[Diagnostic]:
    environment = endpoint.environment
    found = []
    for index, served in _unlocked(endpoint):
        model = served.spec.model
        assert model is not None
        if environment.images.waiver(model) is not None:
            continue  # acknowledged, with its reason, in the environment (explain shows it)
        if environment.images.strict:
            continue  # an error, from knobless_validate_endpoint
        why = f"; {_resolve_hint(environment)}"
        found.append(
            at_field(
                endpoint,
                ("served", index, "model"),
                f"served[{index}].model: {model} has no image in images.lock for environment "
                f"`{environment.name}`: it runs the generic image {environment.runtimes.mlflow}"
                + why,
                Severity.WARNING,
                RULE,
            )
        )
    return found


def _pinned_pod(pod: dict[str, Any], environment: Environment) -> dict[str, Any]:
    spec = dict(pod["spec"])
    for key in ("initContainers", "containers"):
        if key in spec:
            spec[key] = [
                {**c, "image": environment.pinned(c["image"])} if "image" in c else c
                for c in spec[key]
            ]
    if environment.images.pullSecrets:
        spec["imagePullSecrets"] = [{"name": name} for name in environment.images.pullSecrets]
    return {**pod, "spec": spec}


@hookimpl
def knobless_postprocess(
    manifests: tuple[Manifest, ...], environment: Environment
) -> tuple[Manifest, ...] | None:
    settings = environment.images
    if not settings.digests and not settings.pullSecrets:
        return None
    changed = []
    for manifest in manifests:
        body = manifest.body
        if manifest.kind in POD_TEMPLATE_KINDS and "template" in body.get("spec", {}):
            template = _pinned_pod(body["spec"]["template"], environment)
            manifest = manifest.replace({**body, "spec": {**body["spec"], "template": template}})
        changed.append(manifest)
    return tuple(changed)
