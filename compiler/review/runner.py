"""`knobless diff` end to end: render the base revision and the working tree, then compare.

Both sides are rendered by the compiler code of the working tree (the one running), so the diff
shows what the change to endpoints/ and environments/ does, never a compiler upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from compiler.errors import InputError, KnoblessError
from compiler.review.gitrev import materialize
from compiler.review.lint import UNKNOWN_RULE
from compiler.review.summary import Review, Side, side_from_result, summarize

LINT_PACKAGE = "plugins.lint."


class BaseRevisionError(KnoblessError):
    """The base revision does not compile (exit 1); the message lists its problems."""


def _compile(root: Path, environments: Sequence[str] | None, *, base: bool = False) -> Side:
    from compiler.config import load_config
    from compiler.pipeline import compile_repository
    from compiler.plugins import BUILTIN_PLUGINS, build_plugin_manager
    from compiler.report import print_diagnostics

    config = load_config(root)
    blocked = list(config.block)
    if base:
        # The base is judged by today's lint rules; a rule added since must not stop the review.
        blocked += [name for name, module in BUILTIN_PLUGINS if module.startswith(LINT_PACKAGE)]
    manager = build_plugin_manager(root=root, local=config.plugins, blocked=blocked)
    result = compile_repository(root, environments=environments, manager=manager)
    if not base:
        print_diagnostics(result.diagnostics)  # the change's own warnings, on stderr
    return side_from_result(result.files, result.endpoints, result.manifests)


def _base_environments(base_root: Path, wanted: Sequence[str] | None) -> Sequence[str] | None:
    """`--env` names that exist at the base (a new environment is all "added", not an error)."""
    if not wanted:
        return None
    present = {p.stem for p in (base_root / "environments").glob("*.jsonnet")}
    return [name for name in wanted if name in present]


def review(root: Path, base: str, *, environments: Sequence[str] | None = None) -> Review:
    """Compare `root` (the working tree, uncommitted edits included) with `base`."""
    # The revision first: an unknown REV or a folder outside git fails before any compile.
    with materialize(root, base) as revision:
        after = _compile(root, environments)
        wanted = _base_environments(revision.root, environments)
        try:
            if wanted == [] or not (revision.root / "environments").is_dir():
                # Nothing to deploy at the base (e.g. the change that adopts knobless).
                before = Side({}, {})
            else:
                before = _compile(revision.root, wanted, base=True)
        except InputError as error:
            # Lint rules are blocked at the base, so every `lint.ignore` there names no rule:
            # not a problem of the base.
            problems = "\n".join(
                f"  {d.format()}" for d in error.diagnostics if d.rule != UNKNOWN_RULE
            )
            raise BaseRevisionError(
                f"the base revision `{base}` ({revision.commit[:12]}) does not compile with this "
                f"version of knobless, so there is nothing to compare against:\n{problems}\n"
                "fix the base branch first, or compare against another revision"
            ) from None
        except KnoblessError as error:
            raise BaseRevisionError(
                f"the base revision `{base}` ({revision.commit[:12]}) cannot be compiled: {error}"
            ) from None
    return summarize(before, after, base=base, base_commit=revision.commit)
