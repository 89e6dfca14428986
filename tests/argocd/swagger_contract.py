"""Checks requests and answers against Argo CD's published API (contract/swagger-excerpt.json).

No Argo CD can run in the test environment, so the client is tested against the contract: every
request must name an operation of the spec, with its path parameters, only declared query
parameters of the declared types, and a body valid for the operation's schema — closed, so a
misspelt field fails here although Argo CD's Go decoder would silently drop it.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

EXCERPT = Path(__file__).parent / "contract" / "swagger-excerpt.json"


@cache
def spec() -> dict[str, Any]:
    return json.loads(EXCERPT.read_text())


def _closed(definitions: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(definitions)
    for schema in closed.values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return closed


def _validator(ref: dict[str, Any], *, strict: bool) -> jsonschema.Draft4Validator:
    definitions = spec()["definitions"]
    schema = {**ref, "definitions": _closed(definitions) if strict else definitions}
    return jsonschema.Draft4Validator(schema)


def _operation(method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    for template, operations in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, path)
        if match and method.lower() in operations:
            return template, operations[method.lower()], match.groupdict()
    return None


def request_problems(request: httpx.Request) -> list[str]:
    """Every way `request` breaks the contract (empty when it conforms)."""
    found = _operation(request.method, request.url.path)
    where = f"{request.method} {request.url.path}"
    if found is None:
        return [f"{where}: no such operation in Argo CD's API"]
    _template, operation, path_values = found
    parameters = operation.get("parameters", [])
    problems = []
    for parameter in parameters:
        if parameter["in"] == "path" and not path_values.get(parameter["name"]):
            problems.append(f"{where}: path parameter {parameter['name']} missing")
    query = {p["name"]: p for p in parameters if p["in"] == "query"}
    for name in set(request.url.params.keys()):
        values = request.url.params.get_list(name)
        declared = query.get(name)
        if declared is None:
            problems.append(f"{where}: undeclared query parameter {name!r}")
            continue
        if declared["type"] != "array" and len(values) > 1:
            problems.append(f"{where}: query parameter {name!r} repeated")
        kind = declared["items"]["type"] if declared["type"] == "array" else declared["type"]
        for value in values:
            if kind == "boolean" and value not in ("true", "false"):
                problems.append(f"{where}: query {name}={value!r} is not a boolean")
            if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                problems.append(f"{where}: query {name}={value!r} is not an integer")
    body_parameter = next((p for p in parameters if p["in"] == "body"), None)
    content = request.content
    if body_parameter is None:
        if content:
            problems.append(f"{where}: a body was sent to an operation without one")
        return problems
    if not content:
        if body_parameter.get("required"):
            problems.append(f"{where}: the required body is missing")
        return problems
    try:
        body = json.loads(content)
    except ValueError:
        return [*problems, f"{where}: the body is not JSON"]
    validator = _validator(body_parameter["schema"], strict=True)
    problems += [
        f"{where}: body {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(body)
    ]
    return problems


def response_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Answers of the fake server must have the shapes the spec gives (errors: runtimeError)."""
    found = _operation(method, path)
    if found is None:
        return [f"{method} {path}: no such operation"]
    responses = found[1]["responses"]
    schema = responses.get(str(status), responses["default"]).get("schema")
    if schema is None:
        return []
    validator = _validator(schema, strict=False)
    return [f"{method} {path} -> {status}: {e.message}" for e in validator.iter_errors(body)]
