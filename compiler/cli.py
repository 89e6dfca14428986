"""The `knobless` command line. Every sub-command lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy

from compiler.errors import EXIT_INTERNAL, EXIT_INVALID, EXIT_USAGE, KnoblessError

# Sub-command modules of the compiler itself, by command; each has `register(subparsers)`.
COMMANDS: dict[str, str] = {
    "compile": "compiler.commands.compile",
    "validate": "compiler.commands.validate",
    "schema": "compiler.commands.schema",
    "diff": "compiler.commands.diff",
    "explain": "compiler.commands.explain",
    "images": "compiler.images.cli",
    "argocd": "compiler.argocd.cli",
}
COMMAND_MODULES: tuple[str, ...] = tuple(COMMANDS.values())

EPILOG = """\
exit codes:
  0  success
  1  invalid input, stale rendered/ (--check), or a failed operation
  2  usage error (unknown option, missing argument)
  70 internal error: a bug in knobless or a plugin (KNOBLESS_DEBUG=1 shows the traceback)
"""


def build_parser(
    manager: pluggy.PluginManager | None = None, *, only: str | None = None
) -> argparse.ArgumentParser:
    """The whole command line, or with `only` (a built-in command) just that command and the
    plugins' ones: `knobless compile` need not import the Argo CD client to start."""
    from compiler.plugins import build_plugin_manager

    parser = argparse.ArgumentParser(
        prog="knobless",
        description="Compile endpoint specs into Kubernetes manifests for GitOps, and run the "
        "APA autoscaler.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"knobless {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in [COMMANDS[only]] if only in COMMANDS else COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    # Plugins (the APA scaler and simulator among them) add their own commands.
    (manager or build_plugin_manager()).hook.knobless_add_commands(subparsers=subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("knobless")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(only=words[0] if words and words[0] in COMMANDS else None)
        args = parser.parse_args(words)
        return int(args.handler(args))
    except KnoblessError as error:
        from compiler.report import print_error

        print_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        print("knobless: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_INVALID
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (EXIT_USAGE if code else 0)
    except Exception as error:  # a bug: say so plainly instead of showing a traceback
        if os.environ.get("KNOBLESS_DEBUG"):
            raise
        print(
            f"knobless: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in knobless or one of its plugins, not in your files. Rerun with "
            "KNOBLESS_DEBUG=1 to see the traceback, and report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run() -> None:
    sys.exit(main())
