"""`knobless explain ENDPOINT --env ENV`: the resolved spec and where each value came from."""

from __future__ import annotations

import argparse
import sys

from compiler.commands._common import add_root, repository_root


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show an endpoint's resolved spec with the source of every value",
        description="Resolve ENDPOINT in environment ENV and print every value of the merged "
        "spec with where it came from (the endpoint file, the environment's defaults, patch or "
        "override, a workload, or a default), the runtime chosen and why, and the resources.",
        epilog="exit codes: 0 ok, 1 invalid input, 2 unknown endpoint or environment",
    )
    parser.add_argument("endpoint", metavar="ENDPOINT", help="endpoint name (endpoints/NAME.yaml)")
    parser.add_argument("--env", required=True, metavar="ENV", help="environment name")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    add_root(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from compiler.pipeline import resolve_endpoint
    from compiler.review import explain

    endpoint = resolve_endpoint(repository_root(args), args.env, args.endpoint)
    render = explain.render_json if args.format == "json" else explain.render_text
    sys.stdout.write(render(endpoint))
    return 0
