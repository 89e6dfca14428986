"""`knobless diff --base REV`: what a change does to each environment, for review."""

from __future__ import annotations

import argparse
import sys

from compiler.commands._common import add_root, repository_root

FORMATS = ("text", "markdown", "json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare what the working tree renders with what a git revision renders",
        description="Render the repository at git revision REV (in a temporary directory; the "
        "working tree is untouched) and as it is now, and report per environment and endpoint: "
        "objects added, removed and changed with field-level changes, whether pods restart, "
        "traffic moves, concurrency ranges and worst-case GPU/CPU at max concurrency. Both "
        "sides are rendered by this version of knobless.",
        epilog="exit codes: 0 compared (changes or not), 1 invalid input at either side, "
        "2 unknown revision, not a git repository, or bad option",
    )
    parser.add_argument("--base", required=True, metavar="REV", help="git revision to compare with")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--env", action="append", metavar="ENV", help="compare only this environment (repeatable)"
    )
    add_root(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from compiler.review.jsonout import render_json
    from compiler.review.markdown import render_markdown
    from compiler.review.runner import review
    from compiler.review.text import render_text

    result = review(repository_root(args), args.base, environments=args.env)
    render = {"text": render_text, "markdown": render_markdown, "json": render_json}[args.format]
    sys.stdout.write(render(result))
    return 0
