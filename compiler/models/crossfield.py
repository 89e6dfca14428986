"""Checks across fields of an endpoint spec, on plain data.

pydantic runs a model's cross-field validators only once every field they read is valid, so a
typo in one served version would hide a duplicate served name or a traffic split that does not
add up. These checks read the raw (merged) data instead and judge whatever is there; the
diagnostics layer runs them whatever else failed (compiler.crosscheck), and the models call
them too so that a spec built in code is held to the same rules.

Each check returns `Problem`s: the field path the problem is about, the message, and whether it
is about the key (an unknown traffic name) rather than the value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic_core import PydanticCustomError

FieldPath = tuple[str | int, ...]

CROSS_FIELD = "cross_field"
"""pydantic error type of the models' own cross-field failures: the diagnostics layer drops them
and reports `spec_problems` of the raw data instead (all of them, each at its own field)."""


class Problem(NamedTuple):
    path: FieldPath
    message: str
    at_key: bool = False


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`; did you mean `x`?` for the closest of `known`, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def raise_first(problems: Sequence[Problem]) -> None:
    """In a model validator: fail with the first problem (pydantic takes one per validator)."""
    if problems:
        path = ".".join(str(p) for p in problems[0].path if isinstance(p, str))
        message = f"{path}: {problems[0].message}" if path else problems[0].message
        raise PydanticCustomError(CROSS_FIELD, "{message}", {"message": message})


def duplicate_served(names: Sequence[object]) -> list[Problem]:
    """Every served version named like an earlier one."""
    problems = []
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if not isinstance(name, str):
            continue
        if name in first:
            problems.append(
                Problem(
                    ("served", index, "name"),
                    f"`{name}` is already the name of served[{first[name]}]; served names must "
                    "be unique",
                )
            )
        else:
            first[name] = index
    return problems


def _traffic_required(served: Sequence[str]) -> Problem:
    example = ", ".join(f"{n}: {p}" for n, p in zip(served[:2], (90, 10), strict=False))
    return Problem(
        ("served",),
        f"`traffic` is required when more than one version is served (e.g. traffic: {{{example}}})",
        at_key=True,
    )


def traffic_split(traffic: Mapping[Any, object] | None, names: Sequence[object]) -> list[Problem]:
    """Traffic naming versions that are not served, served versions it leaves out, percentages
    not adding up to 100, no traffic with several versions: all of them, not the first."""
    served = [n for n in names if isinstance(n, str)]
    if traffic is None:
        return [_traffic_required(served)] if len(names) > 1 else []
    problems = []
    listed = ", ".join(dict.fromkeys(served)) or "none"
    unclaimed = [n for n in served if n not in traffic]
    for key in traffic:
        if isinstance(key, str) and key not in served:
            hint = did_you_mean(key, unclaimed or served)
            problems.append(
                Problem(
                    ("traffic", key),
                    f"`{key}` is not a served version{hint} (served: {listed})",
                    at_key=True,
                )
            )
    for name in dict.fromkeys(unclaimed):
        problems.append(
            Problem(
                ("traffic",),
                f"no percentage for served `{name}` (give it 0 to send it no traffic)",
            )
        )
    values = [v for v in traffic.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(values) == len(traffic):  # a value of the wrong type is the field checks' to report
        total = sum(values)
        if total != 100:
            shown = int(total) if float(total).is_integer() else total
            problems.append(Problem(("traffic",), f"percentages add up to {shown}, not 100"))
    return problems


def served_shape(
    index: int, *, model: bool, image: bool, port: bool, env_names: Sequence[object]
) -> list[Problem]:
    """`model` or `image` (with `port`), and environment variables named once."""
    problems = []
    where: FieldPath = ("served", index)
    if model and image:
        problems.append(Problem(where, "set `model` or `image`, not both"))
    elif not model and not image:
        problems.append(
            Problem(where, "set `model` (an MLflow model URI) or `image` (with `port`)")
        )
    elif image and not port:
        problems.append(Problem(where, "`image` needs `port`: the port the container listens on"))
    elif port and not image:
        problems.append(
            Problem(where, "`port` goes with `image`; a `model` is served on the runtime's port")
        )
    named = [n for n in env_names if isinstance(n, str)]
    for name in sorted({n for n in named if named.count(n) > 1}):
        problems.append(Problem((*where, "env"), f"environment variable `{name}` is set twice"))
    return problems


def _set(item: Mapping[str, Any], key: str) -> bool:
    return item.get(key) is not None


def spec_problems(data: object) -> list[Problem]:
    """Every cross-field problem of a raw endpoint spec (parts of the wrong type are skipped:
    the field checks report those)."""
    if not isinstance(data, dict):
        return []
    served = data.get("served")
    items = served if isinstance(served, list) else []
    problems = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            env = item.get("env")
            env_names = (
                [e.get("name") for e in env if isinstance(e, dict)] if isinstance(env, list) else []
            )
            problems.extend(
                served_shape(
                    index,
                    model=_set(item, "model"),
                    image=_set(item, "image"),
                    port=_set(item, "port"),
                    env_names=env_names,
                )
            )
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    problems.extend(duplicate_served(names))
    traffic = data.get("traffic")
    if isinstance(served, list) and served and (traffic is None or isinstance(traffic, dict)):
        problems.extend(traffic_split(traffic, names))
    return problems
