"""SchemaChecker: validate rendered objects against Kubernetes and project CRD schemas, fast."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from compiler.schemacheck import compiled
from compiler.schemacheck.errors import SchemaDefinitionError
from compiler.schemacheck.explain import (
    ROOT,
    SchemaProblem,
    compiled_problem,
    describe_value,
    explain,
)
from compiler.schemacheck.sources import (
    SchemaSource,
    crd_sources,
    display_path,
    kubernetes_schema_dir,
    kubernetes_source,
)


@dataclass
class _Entry:
    """One (apiVersion, kind): its source, its compiled verdict function, its explainer."""

    source: SchemaSource
    validate: compiled.Validate
    explainer: jsonschema.protocols.Validator | None = None


class SchemaChecker:
    """Validates objects against the Kubernetes schemas of one version and the project's CRDs.

    Built-in kinds use kubernetes-validate's strict schemas (`additionalProperties: false`, so a
    misspelt field is an error); any `*.schema.json` in `extra_schema_dirs` with a top-level
    `"x-knobless-kind": {"apiVersion": ..., "kind": ...}` validates that kind (and wins over a
    built-in schema of the same name). Each kind is compiled once, on first use, and the compiled
    code is cached on disk (`cache_dir`, default `~/.cache/knobless/validators`).

    Building a checker is cheap; pickling one sends only its settings, so a worker process
    rebuilds it from the disk cache in milliseconds.
    """

    def __init__(
        self,
        kubernetes_version: str = "1.33",
        *,
        extra_schema_dirs: Sequence[Path] = (),
        cache_dir: Path | None = None,
    ) -> None:
        self.kubernetes_version, self._kubernetes_dir = kubernetes_schema_dir(kubernetes_version)
        self.extra_schema_dirs = tuple(Path(d) for d in extra_schema_dirs)
        self.cache_dir = cache_dir if cache_dir is not None else compiled.default_cache_dir()
        self._cache = compiled.CodeCache(self.cache_dir)
        self._crds = crd_sources(self.extra_schema_dirs)
        self._entries: dict[tuple[str, str], _Entry | None] = {}
        self._digests: dict[Path, str] = {}
        self._identity: str | None = None
        where = [f"Kubernetes {self.kubernetes_version}"]
        where += [display_path(d) for d in self.extra_schema_dirs]
        self._searched = " or ".join(where)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "kubernetes_version": self.kubernetes_version,
            "extra_schema_dirs": self.extra_schema_dirs,
            "cache_dir": self.cache_dir,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["kubernetes_version"],
            extra_schema_dirs=state["extra_schema_dirs"],
            cache_dir=state["cache_dir"],
        )

    def check(self, obj: Mapping[str, Any]) -> list[SchemaProblem]:
        """Every schema problem of one object; [] when it is valid."""
        if type(obj) is not dict:
            if not isinstance(obj, Mapping):
                return [SchemaProblem(ROOT, f"expected object, got {describe_value(obj)}")]
            obj = dict(obj)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if type(api_version) is not str or type(kind) is not str:
            return [self._no_schema(obj)]
        key = (api_version, kind)
        entry = self._entries.get(key)
        if entry is None:
            if key in self._entries:
                return [self._no_schema(obj)]
            entry = self._entries[key] = self._load(*key)
            if entry is None:
                return [self._no_schema(obj)]
        try:
            entry.validate(obj)
            return []
        except Exception as error:
            # Rare by design (a compiler or plugin bug): now find every problem, with paths.
            return self._explain(entry, obj, error)

    def schema_label(self, api_version: str, kind: str) -> str | None:
        """`Kubernetes 1.33` or the CRD schema file that validates this kind; None if none does."""
        source = self._source(api_version, kind)
        return None if source is None else source.label

    def _no_schema(self, obj: dict[str, Any]) -> SchemaProblem:
        for field in ("apiVersion", "kind"):
            if field not in obj:
                return SchemaProblem(field, "required field is missing")
            if not isinstance(obj[field], str):
                return SchemaProblem(field, f"expected string, got {describe_value(obj[field])}")
        return SchemaProblem(
            "kind", f"no schema for {obj['kind']} {obj['apiVersion']} in {self._searched}"
        )

    def _source(self, api_version: Any, kind: Any) -> SchemaSource | None:
        if not (isinstance(api_version, str) and isinstance(kind, str)):
            return None
        crd = self._crds.get((api_version, kind))
        if crd is not None:
            return crd
        return kubernetes_source(self._kubernetes_dir, self.kubernetes_version, api_version, kind)

    def _digest(self, path: Path) -> str:
        digest = self._digests.get(path)
        if digest is None:
            digest = self._digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return digest

    def _load(self, api_version: str, kind: str) -> _Entry | None:
        source = self._source(api_version, kind)
        if source is None:
            return None
        if self._identity is None:
            self._identity = compiled.generator_identity()
        key = compiled.cache_key(self._identity, [self._digest(p) for p in source.files])
        code = self._cache.get(key)
        if code is not None:
            try:
                return _Entry(source, compiled.load_function(code))
            except Exception:
                pass  # valid checksum but unusable code: regenerate below
        schema = source.bundled()
        try:
            generated = compiled.generate_source(schema)
        except Exception as error:
            raise SchemaDefinitionError(
                source.label, f"cannot compile the schema: {error}"
            ) from None
        code = compiled.compile_source(generated, f"{kind} {api_version}")
        self._cache.put(key, code)
        return _Entry(source, compiled.load_function(code), jsonschema.Draft7Validator(schema))

    def _explain(self, entry: _Entry, obj: dict[str, Any], error: Exception) -> list[SchemaProblem]:
        if entry.explainer is None:
            entry.explainer = jsonschema.Draft7Validator(entry.source.bundled())
        problems = explain(entry.explainer, obj, entry.source.label)
        # The validators disagree only where jsonschema is laxer than JSON Schema (Python's `$`
        # matches before a final newline; ECMA 262's does not): the stricter verdict stands.
        return problems or [compiled_problem(error, entry.source.label)]
