"""Check stage: every rendered object against the Kubernetes and CRD schemas it must satisfy.

Built-in kinds are validated against kubernetes-validate's strict schemas of the environment's
`kubernetesVersion`; KEDA, Argo CD and Gateway API kinds against the `*.schema.json` files in
`schemas/crds/` of the knobless installation itself (the compiler validates against the schemas
that ship with it, whatever repository it compiles). A problem here is a bug in knobless or in a
plugin, not in the user's spec: the message names the object, the field and what was expected.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from compiler import Diagnostic, Environment, Manifest, hookimpl
from compiler.schemacheck import (
    CRD_SCHEMA_DIR,
    SchemaChecker,
    SchemaDefinitionError,
    UnsupportedKubernetesVersionError,
)

PRIORITY = 900
"""After the policy checks of other plugins (order only affects nothing but reading)."""


def _where(manifest: Manifest, env_name: str) -> tuple[str, str]:
    """(file under rendered/, `Kind/name`), tolerating the malformed bodies we are reporting."""
    body = manifest.body
    kind = body.get("kind") if isinstance(body, dict) else None
    metadata = body.get("metadata") if isinstance(body, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        return f"rendered/{manifest.path(env_name)}", f"{kind}/{name}"
    return (
        f"rendered/{env_name}/{manifest.folder}",
        f"{kind or '(no kind)'}/{name or '(no name)'}",
    )


def check_manifests(
    checker: SchemaChecker, manifests: Iterable[Manifest], env_name: str
) -> list[Diagnostic]:
    """Diagnostics for every schema problem of `manifests` (rendered for `env_name`)."""
    diagnostics = []
    default_label = f"Kubernetes {checker.kubernetes_version}"
    for manifest in manifests:
        try:
            problems = checker.check(manifest.body)
        except SchemaDefinitionError as error:  # a CRD schema is compiled on first use
            diagnostics.append(Diagnostic(error.path, 0, 0, error.message))
            continue
        if problems:
            path, name = _where(manifest, env_name)
            for problem in problems:
                diagnostics.append(
                    Diagnostic(
                        path,
                        0,
                        0,
                        f"{name}: {problem.path}: {problem.message} "
                        f"(schema: {problem.schema or default_label})",
                    )
                )
    return diagnostics


@functools.lru_cache(maxsize=8)
def _checker(kubernetes_version: str) -> SchemaChecker:
    """One checker per Kubernetes version and process. knobless_check runs once per endpoint,
    and a checker loads its compiled validators (from the disk cache) on first use of each kind:
    a new checker per call would load them again for every endpoint. Validators are pure
    functions of the schema files, so sharing them cannot change a result."""
    return SchemaChecker(kubernetes_version, extra_schema_dirs=(CRD_SCHEMA_DIR,))


@hookimpl
def knobless_check(
    manifests: tuple[Manifest, ...], environment: Environment
) -> Iterable[Diagnostic]:
    try:
        checker = _checker(environment.kubernetesVersion)
    except UnsupportedKubernetesVersionError as error:
        return [Diagnostic(environment.source, 0, 0, f"kubernetesVersion: {error}")]
    except SchemaDefinitionError as error:
        return [Diagnostic(error.path, 0, 0, error.message)]
    return check_manifests(checker, manifests, environment.name)
