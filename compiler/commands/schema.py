"""`knobless schema`: write the JSON Schemas of endpoint and environment files into schemas/."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from compiler.commands._common import EXIT_CODES, add_root, repository_root
from compiler.errors import StaleOutputError
from compiler.models.endpoint import EndpointSpec
from compiler.models.environment import Environment

SCHEMA_DIR = "schemas"
SCHEMAS: dict[str, type[BaseModel]] = {
    "endpoint.schema.json": EndpointSpec,
    "environment.schema.json": Environment,
}
SCHEMA_BASE_URL = "https://knobless.dev/schemas/"


def generate(filename: str, model: type[BaseModel]) -> bytes:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE_URL + filename,
        **model.model_json_schema(mode="validation"),
    }
    return (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode()


def generated() -> dict[str, bytes]:
    return {name: generate(name, model) for name, model in SCHEMAS.items()}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schema",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write schemas/endpoint.schema.json and schemas/environment.schema.json",
        description="Regenerate the JSON Schemas of the spec formats (for editor completion and "
        "CI validation). With --check, write nothing and exit 1 when they are stale.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if schemas/ is stale")
    add_root(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = repository_root(args)
    directory = root / SCHEMA_DIR
    stale = []
    for name, content in generated().items():
        path: Path = directory / name
        current = path.read_bytes() if path.is_file() else None
        if current == content:
            continue
        stale.append(name)
        if not args.check:
            directory.mkdir(exist_ok=True)
            path.write_bytes(content)
    if args.check and stale:
        raise StaleOutputError(f"schemas/{', schemas/'.join(stale)} stale: run `knobless schema`")
    print(f"schemas/: {len(stale)} written, {len(SCHEMAS) - len(stale)} unchanged", file=sys.stderr)
    return 0
