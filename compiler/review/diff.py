"""Structural diff of two rendered trees: which objects were added, removed or changed, and how.

Input is what the compiler produces: file path (relative to `rendered/`, `<env>/<folder>/<file>`)
-> YAML bytes, one object per file. Objects are compared parsed, so a changed header comment or
key order is not a change; a field's path reads like kubectl's (`spec.template.spec.containers[0]
.image`). Lists of named items (containers, env, ports, volumes) are matched by `name`, so
inserting one item does not show every later item as changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

# libyaml's loader when present: a change that touches every endpoint parses every object.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Status = Literal["added", "removed", "changed"]
PLATFORM_PREFIX = "platform"


@dataclass(frozen=True)
class FieldChange:
    """One leaf (or subtree) that differs. `before`/`after` are None when the side lacks it."""

    path: str
    op: Literal["added", "removed", "changed", "reordered"]
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class ObjectChange:
    """One Kubernetes object (one rendered file) that differs between the two trees."""

    env_name: str
    folder: str
    """Endpoint name, `platform` or `platform/argocd` (the path under `rendered/<env>/`)."""
    kind: str
    name: str
    file: str
    """Path relative to `rendered/`."""
    status: Status
    fields: tuple[FieldChange, ...] = ()
    before: Any = None
    """The whole object before (None when added)."""
    after: Any = None
    """The whole object after (None when removed)."""

    @property
    def endpoint(self) -> str | None:
        """The endpoint this object belongs to, None for environment-wide (platform) objects."""
        first = self.folder.split("/", 1)[0]
        return None if first == PLATFORM_PREFIX else self.folder

    def touches(self, prefix: str) -> bool:
        """Whether a changed field lies at or under `prefix` (e.g. `spec.template`)."""
        return any(
            f.path == prefix or f.path.startswith((prefix + ".", prefix + "[")) for f in self.fields
        )


@dataclass(frozen=True)
class TreeDiff:
    """Every differing object, sorted by (environment, folder, kind, name)."""

    objects: tuple[ObjectChange, ...]

    @property
    def empty(self) -> bool:
        return not self.objects

    def environments(self) -> list[str]:
        return sorted({o.env_name for o in self.objects})

    def for_environment(self, env_name: str) -> list[ObjectChange]:
        return [o for o in self.objects if o.env_name == env_name]

    def for_endpoint(self, env_name: str, endpoint: str) -> list[ObjectChange]:
        return [o for o in self.objects if o.env_name == env_name and o.endpoint == endpoint]


def split_path(file: str) -> tuple[str, str, str]:
    """`prod/platform/argocd/x.yaml` -> (`prod`, `platform/argocd`, `x.yaml`)."""
    parts = file.split("/")
    if len(parts) < 2:
        return parts[0], "", parts[0]
    return parts[0], "/".join(parts[1:-1]), parts[-1]


def parse_object(file: str, data: bytes) -> Any:
    """The object in one rendered file (files hold one object; more become a list)."""
    try:
        text = data.decode("utf-8")
        documents = [d for d in yaml.load_all(text, Loader=SafeLoader) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError):
        # Not ours to judge: compare such a file as text, still showing it changed.
        return {"(unparsable file)": data.decode("utf-8", errors="replace")}
    if len(documents) == 1:
        return documents[0]
    return documents


def _identity(file: str, body: Any) -> tuple[str, str]:
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        return str(body.get("kind", "?")), str(body["metadata"].get("name", "?"))
    stem = file.rsplit("/", 1)[-1].removesuffix(".yaml")
    kind, _, name = stem.partition("-")
    return kind, name or stem


def _body(file: str, data: bytes | None, objects: Mapping[str, Any] | None) -> Any:
    if data is None:
        return None
    if objects is not None and file in objects:
        return objects[file]
    return parse_object(file, data)


def diff_trees(
    before: Mapping[str, bytes],
    after: Mapping[str, bytes],
    *,
    before_objects: Mapping[str, Any] | None = None,
    after_objects: Mapping[str, Any] | None = None,
) -> TreeDiff:
    """Compare two rendered trees (path relative to `rendered/` -> file bytes).

    `*_objects` (same paths -> the object itself, e.g. from the compiler's in-memory manifests)
    spare parsing the YAML of changed files, which dominates when a change touches thousands.
    """
    changes: list[ObjectChange] = []
    for file in sorted(set(before) | set(after)):
        old_bytes, new_bytes = before.get(file), after.get(file)
        if old_bytes == new_bytes:
            continue
        env_name, folder, _ = split_path(file)
        old = _body(file, old_bytes, before_objects)
        new = _body(file, new_bytes, after_objects)
        kind, name = _identity(file, new if new is not None else old)
        if old is None:
            changes.append(ObjectChange(env_name, folder, kind, name, file, "added", after=new))
        elif new is None:
            changes.append(ObjectChange(env_name, folder, kind, name, file, "removed", before=old))
        else:
            fields = tuple(diff_values(old, new))
            if not fields and _canonical(old) != _canonical(new):
                fields = tuple(diff_values(old, new, strict=True))
            if fields:  # bytes differ but parsed equal: a header or formatting change only
                changes.append(
                    ObjectChange(env_name, folder, kind, name, file, "changed", fields, old, new)
                )
    changes.sort(key=lambda c: (c.env_name, c.folder, c.kind, c.name, c.file))
    return TreeDiff(tuple(changes))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _join(path: str, key: str) -> str:
    simple = key.replace("-", "").replace("_", "").isalnum()
    if simple:
        return f"{path}.{key}" if path else key
    # Keys such as `app.kubernetes.io/name` would make the dotted path ambiguous.
    return f'{path}["{key}"]'


def diff_values(
    old: Any, new: Any, path: str = "", *, strict: bool = False
) -> Iterator[FieldChange]:
    """Field-level differences between two parsed YAML values, in document order.

    Equal subtrees are skipped by Python's deep equality (fast, in C), which cannot tell 1 from
    true; `strict` walks every node to find such a change when the fast pass found none.
    """
    if not strict and type(old) is type(new) and old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            child = _join(path, str(key))
            if key not in old:
                yield FieldChange(child, "added", after=new[key])
            elif key not in new:
                yield FieldChange(child, "removed", before=old[key])
            else:
                yield from diff_values(old[key], new[key], child, strict=strict)
    elif isinstance(old, list | tuple) and isinstance(new, list | tuple):
        yield from _diff_lists(list(old), list(new), path, strict)
    elif old != new or type(old) is not type(new):
        yield FieldChange(path or "(object)", "changed", old, new)


def _names(items: list[Any]) -> list[str] | None:
    """Names of a list of named mappings, or None when the list is not one (or names repeat)."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = [i["name"] for i in items]
    return names if len(set(names)) == len(names) else None


def _diff_lists(old: list[Any], new: list[Any], path: str, strict: bool) -> Iterator[FieldChange]:
    old_names, new_names = _names(old), _names(new)
    if old_names is None or new_names is None:
        for index in range(max(len(old), len(new))):
            child = f"{path}[{index}]"
            if index >= len(old):
                yield FieldChange(child, "added", after=new[index])
            elif index >= len(new):
                yield FieldChange(child, "removed", before=old[index])
            else:
                yield from diff_values(old[index], new[index], child, strict=strict)
        return
    by_old = dict(zip(old_names, old, strict=True))
    for index, (name, item) in enumerate(zip(new_names, new, strict=True)):
        child = f"{path}[{index}]"
        if name in by_old:
            yield from diff_values(by_old[name], item, child, strict=strict)
        else:
            yield FieldChange(child, "added", after=item)
    for index, name in enumerate(old_names):
        if name not in new_names:
            yield FieldChange(f"{path}[{index}]", "removed", before=by_old[name])
    common_old = [n for n in old_names if n in new_names]
    common_new = [n for n in new_names if n in old_names]
    if common_old != common_new:
        yield FieldChange(path, "reordered", common_old, common_new)
