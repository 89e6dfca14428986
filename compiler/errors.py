"""The one error tree of knobless.

    KnoblessError                  root: every error a user may see derives from it
    ├── UsageError                 bad command line or option (exit 2)
    │   ├── GitRevisionError       `diff --base`: unknown revision, not a git repository (review.gitrev)
    │   └── MissingExtraError      a command needs an optional extra that is not installed (extras)
    ├── InputError                 invalid specs or environments; carries every Diagnostic (exit 1)
    ├── StaleOutputError           `compile --check` found rendered/ out of date (exit 1)
    ├── BaseRevisionError          `diff`: the base revision does not compile (review.runner, exit 1)
    ├── ImagesError                `images resolve|build`: registry down or refusing, a model
    │                              image cannot be made, the mlflow CLI or a builder is missing
    └── ArgoCDError                raised by compiler.argocd (tree drawn there)

The APA scaler has a tree of its own (plugins/apa/errors.py), mapped to these by `knobless scaler`.

Lower-level errors (OSError, yaml, jsonnet, pydantic) are mapped to these at the boundary where
they happen, so the CLI only ever prints `KnoblessError`s and never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.diagnostics import Diagnostic

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


class KnoblessError(Exception):
    """Root of every error knobless reports to a user."""

    exit_code: int = EXIT_INVALID


class UsageError(KnoblessError):
    exit_code = EXIT_USAGE


class MissingExtraError(UsageError):
    """A command needs optional dependencies (`pip install 'knobless[EXTRA]'`) that are missing."""


class InputError(KnoblessError):
    """One or more problems in the user's files, all of them at once."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        super().__init__(f"{len(self.diagnostics)} problem(s) in the input")


class StaleOutputError(KnoblessError):
    """`compile --check`: rendered/ differs from what the sources produce."""


class ImagesError(KnoblessError):
    """`knobless images`: the registry cannot be read, or an image cannot be generated or built
    (the message names what is missing and what to do)."""


class ArgoCDError(KnoblessError):
    """Base of the Argo CD client's errors (see compiler.argocd.errors)."""
