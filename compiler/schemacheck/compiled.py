"""Compile a bundled schema to a Python function with fastjsonschema, and cache it on disk.

Generating and compiling the code of a Deployment takes ~0.2 s; loading it from the cache ~1 ms.
A cache entry is the marshalled code object of the generated module, in a file named by its key:

    knobless-validator 1\\n<key>\\n<sha256 of payload>\\n<payload>

The key hashes everything the code depends on (the schema files' bytes, this generator's own
source, fastjsonschema's version, the Python bytecode version), and the payload's checksum is
verified before it is unmarshalled: a truncated, corrupt or foreign file is never used, only
regenerated and rewritten (atomically, so concurrent workers never read half a file).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType
from typing import Any

import fastjsonschema

MAGIC = b"knobless-validator 1"

Validate = Callable[[Any], Any]


def generator_identity() -> str:
    """Hash of everything besides the schema that shapes the generated code."""
    digest = hashlib.sha256()
    for part in (MAGIC, fastjsonschema.VERSION.encode(), sys.implementation.cache_tag.encode()):
        digest.update(part + b"\0")
    digest.update(importlib.util.MAGIC_NUMBER)
    here = Path(__file__).parent
    for module in ("bundle.py", "compiled.py", "sources.py"):
        digest.update((here / module).read_bytes())
    return digest.hexdigest()


def cache_key(identity: str, file_digests: Iterable[str]) -> str:
    return hashlib.sha256("\n".join([identity, *file_digests]).encode()).hexdigest()


def generate_source(schema: dict[str, Any]) -> str:
    """The Python module fastjsonschema generates for `schema` (entry point: `validate`)."""
    if "locals()" in json.dumps(schema):
        # The rewrite below must only ever touch fastjsonschema's own code, never a schema string.
        raise ValueError("schema strings may not contain `locals()`")
    source = fastjsonschema.compile_to_code(
        schema, use_default=False, use_formats=False, detailed_exceptions=False
    )
    # fastjsonschema formats each error's data path with `"...".format(**locals())`, copying
    # every local of the function into a dict: at each raise (also inside oneOf trials, where a
    # failure is not an error) and at each $ref call inside an array. We only use its verdict
    # (messages come from jsonschema, see explain.py), so the path may stay a template; this
    # halves the time of a Deployment.
    source = source.replace('".format(**locals())', '"')
    if "locals()" in source:
        raise ValueError("unexpected fastjsonschema output: locals() left after the rewrite")
    return source


def compile_source(source: str, label: str) -> CodeType:
    return compile(source, f"<knobless validator: {label}>", "exec")


def load_function(code: CodeType) -> Validate:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    function = namespace.get("validate")
    if not callable(function):
        raise ValueError("generated code has no `validate` function")
    return function


class CodeCache:
    """Compiled validators on disk; `directory=None` disables the cache."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}.bin"

    def get(self, key: str) -> CodeType | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        parts = data.split(b"\n", 3)
        if len(parts) != 4 or parts[0] != MAGIC or parts[1] != key.encode():
            return None
        if hashlib.sha256(parts[3]).hexdigest().encode() != parts[2]:
            return None
        try:
            code = marshal.loads(parts[3])
        except (ValueError, EOFError, TypeError):
            return None
        return code if isinstance(code, CodeType) else None

    def put(self, key: str, code: CodeType) -> None:
        path = self._path(key)
        if path is None:
            return
        payload = marshal.dumps(code)
        data = b"\n".join(
            [MAGIC, key.encode(), hashlib.sha256(payload).hexdigest().encode(), payload]
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only or full cache only costs time, never correctness


def default_cache_dir() -> Path | None:
    """`$XDG_CACHE_HOME/knobless/validators`, else `~/.cache/knobless/validators`."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory: run without a cache
            return None
    return Path(base) / "knobless" / "validators"
