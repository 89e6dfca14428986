"""Turn a schema and the documents its `$ref`s point into into one self-contained schema.

kubernetes-validate's schemas are JSON Schema 2020-12 documents whose `$ref`s point into a shared
`_definitions.json`. fastjsonschema speaks draft-07 and would fetch unknown URIs, so before
compiling we resolve every `$ref` ourselves and produce one draft-07 document:

- every referenced definition is copied once into `definitions` under a unique name and every
  `$ref` becomes a local `#/definitions/<name>`. fastjsonschema turns each definition into one
  small Python function, which handles recursive definitions (JSONSchemaProps) naturally and keeps
  functions small: one function holding a whole inlined PodSpec has thousands of locals and every
  call pays for them (measured: 20 µs per call just to enter it, 2.5 ms per Deployment).
- `$ref` with sibling keywords becomes `allOf` (2020-12 applies both; draft-07 ignores siblings).
- annotations (description, title, format, x-*...) are dropped: neither validator asserts them.
- a `oneOf`/`anyOf` whose branches only constrain `type` becomes one `type` list with exactly
  the same meaning (Kubernetes' IntOrString and Quantity): cheaper, and no exception per value.
- `const: x` becomes `enum: [x]` (same meaning; fastjsonschema 2.22 cannot generate `const`
  without detailed exceptions).
- keywords a draft-07 validator would silently ignore (prefixItems, unevaluatedProperties...)
  are refused, so a schema can never validate less than it says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

DRAFT_07 = "http://json-schema.org/draft-07/schema#"

_ANNOTATIONS = frozenset(
    {
        "$comment",
        "$schema",
        "title",
        "description",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "format",
        "contentMediaType",
        "contentEncoding",
        "$defs",
        "definitions",
    }
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties"})
_SCHEMA_VALUES = frozenset(
    {
        "additionalProperties",
        "additionalItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
    }
)
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_DATA = frozenset(
    {
        "type",
        "enum",
        "required",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)

# (json type, value class) pairs: which classes of JSON values a `type` name accepts.
_VALUE_CLASSES = ("null", "boolean", "string", "object", "array", "integer", "fraction")


class BundleError(ValueError):
    """The schema cannot be turned into an equivalent self-contained draft-07 schema."""


Loader = Callable[[str], Any]
"""Returns the parsed document at an absolute URI (without fragment); raises KeyError if unknown."""


def _pointer(document: Any, fragment: str, target: str) -> Any:
    node = document
    if fragment in ("", "/"):
        return node
    if not fragment.startswith("/"):
        raise BundleError(f"unsupported $ref `{target}` (anchors are not supported)")
    for raw in fragment[1:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise BundleError(f"$ref `{target}` points at nothing") from None
    return node


def _accepts(type_name: str, value_class: str) -> bool:
    if type_name == "number":
        return value_class in ("integer", "fraction")
    return type_name == value_class


def _type_union(branches: list[Any], exactly_one: bool) -> list[str] | None:
    """The `type` list meaning the same as oneOf/anyOf over type-only branches, or None."""
    if not branches or not all(isinstance(b, dict) and set(b) == {"type"} for b in branches):
        return None
    accepted = []
    for value_class in _VALUE_CLASSES:
        hits = 0
        for branch in branches:
            names = branch["type"] if isinstance(branch["type"], list) else [branch["type"]]
            hits += any(_accepts(name, value_class) for name in names)
        if (hits == 1) if exactly_one else (hits >= 1):
            accepted.append(value_class)
    types = [c for c in _VALUE_CLASSES[:5] if c in accepted]
    if "integer" in accepted and "fraction" in accepted:
        types.append("number")
    elif "integer" in accepted:
        types.append("integer")
    elif "fraction" in accepted:
        return None  # "a number that is not an integer" has no `type` spelling
    return types


class _Bundler:
    def __init__(self, load: Loader) -> None:
        self._load = load
        self._names: dict[str, str] = {}
        self._pending: list[tuple[str, str]] = []
        self.definitions: dict[str, Any] = {}

    def _definition_name(self, target: str) -> str:
        name = self._names.get(target)
        if name is None:
            tail = re.sub(r"[^A-Za-z0-9]", "_", target.rsplit("/", 1)[-1])[:60] or "root"
            # An index keeps names unique; fastjsonschema lower-cases them into function names.
            name = f"d{len(self._names)}_{tail}"
            self._names[target] = name
            self._pending.append((target, name))
        return name

    def convert(self, node: Any, base: str, where: str) -> Any:
        if isinstance(node, bool):
            return node
        at = where or "(root)"
        if not isinstance(node, dict):
            raise BundleError(f"{at}: a schema must be an object or a boolean")
        out: dict[str, Any] = {}
        ref = None
        for key, value in node.items():
            if key in _ANNOTATIONS or key.startswith("x-"):
                continue
            if key == "$ref":
                ref = value
            else:
                self._keyword(out, key, value, base, where)
        for keyword, exactly_one in (("oneOf", True), ("anyOf", False)):
            if keyword in out and "type" not in out:
                types = _type_union(out[keyword], exactly_one)
                if types is not None:
                    del out[keyword]
                    out["type"] = types
        if ref is None:
            return out
        if not isinstance(ref, str):
            raise BundleError(f"{at}: $ref must be a string")
        target = urljoin(base, ref)
        local = {"$ref": f"#/definitions/{self._definition_name(target)}"}
        return {"allOf": [local, out]} if out else local

    def _keyword(self, out: dict[str, Any], key: str, value: Any, base: str, where: str) -> None:
        """One keyword of a schema object converted into `out` (all but `$ref`)."""
        at = where or "(root)"
        if key == "$id":
            if where not in ("", "#"):  # a document's own $id is its base URI (the caller's)
                raise BundleError(f"{at}: nested $id is not supported")
        elif key in _SCHEMA_MAPS:
            out[key] = {
                name: self.convert(sub, base, f"{where}/{key}/{name}")
                for name, sub in value.items()
            }
        elif key in _SCHEMA_VALUES:
            out[key] = self.convert(value, base, f"{where}/{key}")
        elif key == "items":
            if isinstance(value, list):
                raise BundleError(f"{at}: array-form `items` is not supported")
            out[key] = self.convert(value, base, f"{where}/items")
        elif key in _SCHEMA_LISTS:
            out[key] = [self.convert(s, base, f"{where}/{key}/{i}") for i, s in enumerate(value)]
        elif key in ("dependentRequired", "dependentSchemas", "dependencies"):
            self._dependencies(out.setdefault("dependencies", {}), key, value, base, where)
        elif key == "const":
            # Same meaning; fastjsonschema 2.22 cannot generate `const` without detailed
            # exceptions (KeyError 'definition_rule').
            out["enum"] = [value]
        elif key in _DATA:
            out[key] = value
        else:
            # A keyword we do not know would be ignored by the validator: refuse instead.
            raise BundleError(f"{at}: unsupported schema keyword `{key}`")

    def _dependencies(
        self, deps: dict[str, Any], key: str, value: Any, base: str, where: str
    ) -> None:
        """2019-09's dependentRequired and dependentSchemas as draft-07's `dependencies`."""
        if key == "dependentRequired":
            deps.update(value)
        elif key == "dependentSchemas":
            for name, sub in value.items():
                deps[name] = self.convert(sub, base, f"{where}/dependentSchemas/{name}")
        else:
            for name, sub in value.items():
                deps[name] = sub if isinstance(sub, list) else self.convert(sub, base, where)

    def run(self) -> None:
        while self._pending:
            target, name = self._pending.pop(0)
            uri, fragment = urldefrag(target)
            try:
                document = self._load(uri)
            except KeyError:
                raise BundleError(f"$ref to unknown document `{target}`") from None
            self.definitions[name] = self.convert(
                _pointer(document, fragment, target), uri, "#" + fragment
            )


def bundle(root: dict[str, Any], base_uri: str, load: Loader) -> dict[str, Any]:
    """One self-contained draft-07 schema equivalent to `root` (whose own URI is `base_uri`).

    `load(uri)` returns the documents `$ref`s point into (the root's own URI included).
    Raises BundleError when the schema uses something we cannot translate exactly.
    """
    bundler = _Bundler(load)
    converted = bundler.convert(root, base_uri, "")
    bundler.run()
    result: dict[str, Any] = {"$schema": DRAFT_07}
    if isinstance(converted, bool):
        converted = {} if converted else {"not": {}}
    result.update(converted)
    if bundler.definitions:
        result["definitions"] = bundler.definitions
    return result
