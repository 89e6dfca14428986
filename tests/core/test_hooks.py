"""Hooks seen from a plugin: each one called at its stage, with what it returns taking effect."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from compiler import Diagnostic, hookimpl
from compiler.cli import build_parser
from compiler.errors import InputError
from compiler.pipeline import compile_repository
from compiler.plugins import build_plugin_manager


class HelloCommand:
    """Adds `knobless hello`, as the scaler and simulator plugins add theirs."""

    @hookimpl
    def knobless_add_commands(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("--to", default="world")
        parser.set_defaults(handler=lambda args: 7 if args.to == "knobless" else 0)


def test_knobless_add_commands_adds_a_sub_command() -> None:
    manager = build_plugin_manager(entry_points=False, extra=[("test.hello", HelloCommand())])
    args = build_parser(manager).parse_args(["hello", "--to", "knobless"])
    assert args.handler(args) == 7
    assert "hello" in build_parser(manager).format_help()


class NoGpuOnFriday:
    """A policy written against knobless_validate_endpoint: returns a field path, no position."""

    @hookimpl
    def knobless_validate_endpoint(self, endpoint: Any) -> list[Diagnostic]:
        found = []
        for index, served in enumerate(endpoint.served):
            if served.resources.gpu_count:
                found.append(
                    Diagnostic(
                        endpoint.source,
                        0,
                        0,
                        f"served[{index}].compute: GPUs are not allowed in {endpoint.environment.name}",
                    )
                )
        return found


def test_knobless_validate_endpoint_diagnostics_are_placed_at_the_field(repo: Path) -> None:
    manager = build_plugin_manager(entry_points=False, extra=[("test.nogpu", NoGpuOnFriday())])
    with pytest.raises(InputError) as caught:
        compile_repository(repo, manager=manager)
    assert [d.format() for d in caught.value.diagnostics] == [
        "endpoints/doc-embedder.yaml:8:14: error: served[0].compute: GPUs are not allowed in dev",
        "endpoints/doc-embedder.yaml:8:14: error: served[0].compute: GPUs are not allowed in prod",
        "endpoints/support-llm.yaml:9:14: error: served[0].compute: GPUs are not allowed in prod",
    ]
