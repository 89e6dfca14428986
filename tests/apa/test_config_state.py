"""Scaler configuration files, the state file, and the command line's usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main
from plugins.apa.config import DEFAULT_QUERIES, ConfigError, load_config
from plugins.apa.decision import VerticalState
from plugins.apa.state import Saved, StateError, load, save


def test_defaults_then_config_then_queries(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "intervalSeconds: 1\nlagSeconds: 3\nqueries:\n  cpu: my_cpu\n"
        "vertical:\n  intervalSeconds: 10\n  cpuHigh: 0.8\n  hysteresisSamples: 3\n"
    )
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps({"latency": "my_latency"}))
    loaded = load_config(config, queries)
    assert loaded.lag_s == 3
    assert loaded.vertical.interval_s == 10
    assert loaded.vertical.cpu_high == 0.8
    assert loaded.vertical.hysteresis_samples == 3
    assert dict(loaded.queries) == {**DEFAULT_QUERIES, "cpu": "my_cpu", "latency": "my_latency"}
    assert load_config().queries == DEFAULT_QUERIES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lag: 1\n", "unknown key `lag`"),
        ("lagSeconds: soon\n", "`lagSeconds` must be a number >= 0"),
        ("queries:\n  tokens: x\n", "unknown signal `queries.tokens`"),
        ("queries:\n  cpu: ''\n", "`queries.cpu` must be a non-empty PromQL string"),
        ("vertical:\n  cpuHot: 1\n", "unknown key `vertical.cpuHot`"),
        ("vertical:\n  maxStepDown: 1.5\n", "max_step_down must be in (0, 1)"),
        ("[1, 2]\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_state_round_trip_and_atomic_replace(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    saved = [
        Saved("ns", "b-v1", {"endpoint": "b"}, VerticalState(7.0, (("cpu", 1),), 2, 101.5, 60.0), 2.5, True),
        Saved("ns", "a-v1", {"endpoint": "a"}, VerticalState(10.0), None, None),
        Saved("ns", "c-v1", {"endpoint": "c"}, VerticalState(
            9.0, fit=tuple(float(k) for k in range(10)), knee=40.5, knee_at=90.0, knee_resources=120.0,
            healthy_load=30.0, shrink_streak=1,
        ), 1.0, True),
    ]  # fmt: skip
    save(path, saved)
    assert load(path) == sorted(saved, key=lambda s: s.name)
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary left
    assert load(tmp_path / "missing.json") == []


def test_state_written_before_the_learning_evidence_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save(path, [Saved("ns", "a-v1", {"endpoint": "a"}, VerticalState(7.0), None, None)])
    raw = json.loads(path.read_text())
    vertical = raw["scaledObjects"]["ns/a-v1"]["vertical"]
    for key in ("fit", "knee", "kneeAt", "kneeResources", "healthyLoad", "shrinkStreak"):
        del vertical[key]
    path.write_text(json.dumps(raw))
    assert load(path)[0].vertical == VerticalState(7.0)


def test_state_errors_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"format": 1, "scaledObjects": {"x": 3}}')
    with pytest.raises(StateError, match=r"not a scaler state file .*; move it aside"):
        load(path)
    path.write_text('{"format": 9}')
    with pytest.raises(StateError, match="unknown format 9"):
        load(path)


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["scaler", "--listen", "127.0.0.1:1", "--prometheus", "http://p"]
    assert main([*base, "--tls-cert", str(tmp_path / "c.pem")]) == 2
    assert main([*base, "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", "k"]) == 2
    assert main(["scaler", "--listen", "127.0.0.1:1"]) == 2  # --prometheus missing
    assert main(["scaler", "--listen", "nonsense", "--prometheus", "http://p"]) == 2
    bad = tmp_path / "config.yaml"
    bad.write_text("lag: 1\n")
    assert main([*base, "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: unknown key `lag`" in err
    assert "--tls-cert and --tls-key go together" in err
    assert "c.pem: no such file" in err
    assert "the following arguments are required: --prometheus" in err
    assert "--listen 'nonsense': expected HOST:PORT" in err
    assert "Traceback" not in err


def test_every_signal_can_be_overridden_from_the_queries_file(tmp_path: Path) -> None:
    # What the environment's `prometheus.queries` becomes: one file, any signal (a HAProxy or
    # other gateway sets all of them).
    overrides = {signal: f"my_{signal}" for signal in DEFAULT_QUERIES}
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(overrides))
    assert dict(load_config(None, path).queries) == overrides


def test_the_readme_prints_the_templates_the_scaler_runs() -> None:
    from typing import get_args

    from compiler.models.environment import PrometheusSettings
    from plugins.apa.config import GATEWAY_QUERIES
    from plugins.apa.querydoc import rewrite

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert rewrite(readme) == readme, "run `python -m plugins.apa.querydoc`"
    gateways = get_args(PrometheusSettings.model_fields["gateway"].annotation)
    assert set(gateways) == set(GATEWAY_QUERIES)
