"""An example third-party knobless plugin: every object carries a `cost-center` label.

It shows the two things policy plugins usually do:
- a manifest patch (`knobless_postprocess`): add `cost-center` to every object, from a table of
  owners to cost centers (a real plugin might read it from a CMDB export committed to the repo);
- a policy check (`knobless_check`): fail the compile when an object has no `cost-center` label,
  e.g. because its owner is missing from the table or another plugin dropped the label.

Install it as a package with an entry point in the `knobless.plugins` group, or list the module
in the repository's knobless.toml: `plugins = ["knobless_cost_center"]`.
"""

from __future__ import annotations

from compiler import Diagnostic, Environment, Manifest, hookimpl

LABEL = "cost-center"
COST_CENTERS = {
    "growth-ds@example.com": "cc-1042",
    "search-infra@example.com": "cc-2001",
    "feed-ml@example.com": "cc-1042",
    "risk-platform@example.com": "cc-3100",
    "support-ai@example.com": "cc-4200",
    "ops-ai@example.com": "cc-4200",
}
PLATFORM_COST_CENTER = "cc-0001"

PRIORITY = 200  # after the built-ins have rendered and labelled everything


def _owner_of(manifest: Manifest, owners: dict[str, str]) -> str | None:
    return owners.get(manifest.folder)


@hookimpl
def knobless_postprocess(
    manifests: tuple[Manifest, ...], environment: Environment
) -> tuple[Manifest, ...]:
    owners = {
        folder: owner
        for folder, owner in (
            (m.folder, m.body["metadata"].get("annotations", {}).get("knobless.dev/owner"))
            for m in manifests
        )
        if owner
    }
    patched = []
    for manifest in manifests:
        owner = _owner_of(manifest, owners)
        cost_center = (
            PLATFORM_COST_CENTER
            if manifest.folder.startswith("platform")
            else COST_CENTERS.get(owner or "")
        )
        if cost_center is None:
            patched.append(manifest)
            continue
        metadata = dict(manifest.body["metadata"])
        metadata["labels"] = {**metadata.get("labels", {}), LABEL: cost_center}
        patched.append(manifest.replace({**manifest.body, "metadata": metadata}))
    return tuple(patched)


@hookimpl
def knobless_check(manifests: tuple[Manifest, ...], environment: Environment) -> list[Diagnostic]:
    return [
        Diagnostic(
            f"endpoints/{m.folder}.yaml",
            1,
            1,
            f"{m.kind} {m.name} has no `{LABEL}` label: add the endpoint's owner to the "
            "cost-center table",
            rule="cost-center",
        )
        for m in manifests
        if LABEL not in m.body["metadata"].get("labels", {})
    ]
