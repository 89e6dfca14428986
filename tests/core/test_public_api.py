"""compiler/__init__.py: the public API plugins import, loaded lazily (PEP 562)."""

from __future__ import annotations

import subprocess
import sys

import compiler

PUBLIC = [
    "Diagnostic",
    "EndpointContext",
    "EndpointSummary",
    "Environment",
    "InputError",
    "KnoblessError",
    "LintRule",
    "Manifest",
    "MissingExtraError",
    "Origin",
    "Resources",
    "RuntimeChoice",
    "ServedContext",
    "ServedSummary",
    "Severity",
    "StaleOutputError",
    "UsageError",
    "hookimpl",
]


def test_the_public_api_is_pinned() -> None:
    assert compiler.__all__ == PUBLIC
    assert sorted(compiler._PUBLIC) == PUBLIC
    for name in PUBLIC:
        value = getattr(compiler, name)
        assert name == "hookimpl" or value.__name__ == name
    assert set(PUBLIC) <= set(dir(compiler))


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    try:
        compiler.no_such_name  # noqa: B018
    except AttributeError as error:
        assert str(error) == "module 'compiler' has no attribute 'no_such_name'"
    else:  # pragma: no cover
        raise AssertionError("no AttributeError")
    from compiler import hookspecs, writer

    assert hookspecs.hookimpl is compiler.hookimpl
    assert writer.Journal.__module__ == "compiler.writer"


def loaded_after(code: str) -> set[str]:
    """Module names a fresh interpreter holds after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(done.stdout.split())


def test_importing_the_package_or_its_errors_loads_nothing_else() -> None:
    assert {m for m in loaded_after("import compiler.errors") if m.startswith("compiler")} == {
        "compiler",
        "compiler.errors",
    }
    hookimpl_only = loaded_after("from compiler import hookimpl")
    assert "pydantic" not in hookimpl_only
    assert "compiler.context" not in hookimpl_only
