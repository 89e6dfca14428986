"""The APA scaler's boundaries: it shares only the trigger metadata and the default queries with
the compiler, has its own error tree, and a compile loads none of its dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.errors import KnoblessError
from plugins.apa import errors

PROJECT = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    return set(done.stdout.split())


def test_the_sampler_process_imports_no_part_of_the_compiler() -> None:
    # what `python -m plugins.apa` (worker.py) loads before it reads its first message
    loaded = loaded_after("import plugins.apa.worker")
    assert sorted(m for m in loaded if m.split(".")[0] == "compiler") == []
    assert "pydantic" not in loaded and "grpc" not in loaded


def test_the_compiler_side_of_the_contract_is_plain_data() -> None:
    loaded = loaded_after("import plugins.apa.metadata, plugins.apa.queries")
    apa = sorted(m for m in loaded if m.startswith("plugins.apa."))
    assert apa == ["plugins.apa.metadata", "plugins.apa.queries"]


def test_a_compile_loads_no_scaler_or_simulator_dependency(repo: Path) -> None:
    code = (
        f"from compiler.cli import main\nassert main(['compile', '--root', {str(repo)!r}]) == 0\n"
    )
    loaded = loaded_after(code)
    heavy = {"grpc", "google.protobuf", "prometheus_client", "numpy", "matplotlib"}
    assert sorted(heavy & loaded) == []
    assert sorted(m for m in loaded if m.startswith("plugins.apa.")) == [
        "plugins.apa.cli",
        "plugins.apa.forecast_command",  # `knobless forecast`: argparse only until it runs
        "plugins.apa.metadata",
        "plugins.apa.queries",
        "plugins.apa.simulator",
        "plugins.apa.simulator.cli",
        "plugins.apa.simulator.constants",
    ]


def test_the_scaler_has_its_own_error_root() -> None:
    assert not issubclass(errors.ScalerError, KnoblessError)
    assert issubclass(errors.ConfigError, errors.ScalerError)
    assert issubclass(errors.StateError, errors.ScalerError)


def test_a_bad_scaler_config_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "scaler.yaml"
    config.write_text("vertical: [1]\n")
    code = main(
        ["scaler", "--listen", "127.0.0.1:0", "--prometheus", "http://x", "--config", str(config)]
    )
    assert code == 1
    assert capsys.readouterr().err == f"knobless: error: {config}: `vertical` must be a mapping\n"


@pytest.mark.parametrize(
    ("argv", "extra", "missing"),
    [
        (["scaler", "--listen", "127.0.0.1:0", "--prometheus", "http://x"], "scaler", "grpc"),
        (["simulate", "fraud-scorer", "--env", "dev", "--trace", "t.csv"], "simulate", "numpy"),
    ],
)
def test_a_missing_extra_is_named(
    argv: list[str],
    extra: str,
    missing: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what an install without the extra shows
    assert main(argv) == 2
    command = argv[0]
    assert capsys.readouterr().err == (
        f"knobless: error: `knobless {command}` needs the optional dependencies of "
        f"knobless[{extra}] ({missing} not installed): pip install 'knobless[{extra}]'\n"
    )
