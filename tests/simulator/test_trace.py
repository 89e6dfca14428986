"""Trace files: CSV and Prometheus exports, interpolation, upward steps, and errors with positions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compiler.errors import InputError
from plugins.apa.simulator.trace import load_trace, parse_csv, upward_steps


def messages(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [d.format() for d in error.value.diagnostics]


def test_csv_with_header_comments_and_interpolation(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("# a comment\n\nt_seconds,rps\n10,100\n20, 300\n40,300\n")
    trace = load_trace(path, "t.csv")
    assert trace.name == "t"
    assert trace.t.tolist() == [0.0, 10.0, 30.0]  # time starts at the first row
    assert trace.cost.tolist() == [1.0, 1.0, 1.0]
    rate, cost = trace.sample(np.array([0.0, 5.0, 10.0, 20.0]))
    assert rate.tolist() == [100.0, 200.0, 300.0, 300.0]
    assert cost.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_csv_without_header_and_with_cost_column() -> None:
    trace = parse_csv("0,10,1\n60,10,2.5\n", "c.csv", "c")
    assert trace.rps.tolist() == [10.0, 10.0]
    assert trace.cost.tolist() == [1.0, 2.5]
    assert trace.sample(np.array([30.0]))[1].tolist() == [1.75]


def test_every_bad_row_is_reported_with_line_and_column() -> None:
    text = "t_seconds,rps\n0,10\n5,abc\n0,10\n6,-3\n7\n8,1,0\n"
    with pytest.raises(InputError) as error:
        parse_csv(text, "bad.csv", "bad")
    assert messages(error) == [
        "bad.csv:3:3: error: rps `abc` is not a finite number",
        "bad.csv:4:1: error: time 0 is not after the previous row's 0; "
        "rows must be in increasing time order",
        "bad.csv:5:3: error: rps -3 is negative",
        "bad.csv:6:1: error: expected t_seconds,rps[,cost], got 1 fields",
        "bad.csv:7:5: error: cost 0 must be > 0",
    ]


def test_wrong_header_and_too_short_traces() -> None:
    with pytest.raises(InputError) as error:
        parse_csv("time,requests\n0,1\n1,1\n", "h.csv", "h")
    assert messages(error) == [
        "h.csv:1:1: error: header must be `t_seconds,rps` or `t_seconds,rps,cost`, "
        "got `time,requests`"
    ]
    with pytest.raises(InputError) as error:
        parse_csv("0,1\n", "one.csv", "one")
    assert messages(error) == ["one.csv:0:0: error: a trace needs at least two rows"]
    with pytest.raises(InputError) as error:
        parse_csv("0,nan\n1,1\n", "nan.csv", "nan")
    assert messages(error) == ["nan.csv:1:3: error: rps `nan` is not a finite number"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load_trace(tmp_path / "nope.csv", "nope.csv")
    assert messages(error) == ["nope.csv:0:0: error: trace file not found"]


def prometheus(result: object, status: str = "success") -> str:
    return json.dumps({"status": status, "data": {"resultType": "matrix", "result": result}})


def test_prometheus_export_sums_series(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        prometheus(
            [
                {"metric": {"pod": "a"}, "values": [[1700000000, "10"], [1700000015, "20"]]},
                {"metric": {"pod": "b"}, "values": [[1700000000, "5"], [1700000015, "5"]]},
            ]
        )
    )
    trace = load_trace(path, "p.json")
    assert trace.t.tolist() == [0.0, 15.0]
    assert trace.rps.tolist() == [15.0, 25.0]
    assert trace.start is not None and trace.start.timestamp() == 1700000000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            prometheus([], status="error"),
            'expected a Prometheus query_range response with "status": "success"',
        ),
        (prometheus([]), '"data.result" is empty: the query matched no series'),
        (
            prometheus([{"values": [[1, "x"], [2, "1"]]}]),
            "data.result[0].values[0] = [1, 'x'] is not a finite [timestamp, value] pair",
        ),
        (
            prometheus([{"values": [[1, "-1"], [2, "1"]]}]),
            "data.result[0].values[0]: rps -1 is negative",
        ),
        (
            '{"status": "success", "data": {"resultType": "vector", "result": []}}',
            'expected "data": {"resultType": "matrix", ...} (a range query export)',
        ),
    ],
)
def test_prometheus_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_trace(path, "p.json")
    assert messages(error) == [f"p.json:0:0: error: {message}"]


def test_bad_json_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"status":\n  oops}')
    with pytest.raises(InputError) as error:
        load_trace(path, "p.json")
    assert messages(error) == ["p.json:2:3: error: not JSON: Expecting value"]


def test_upward_steps_are_fast_rises_that_at_least_double() -> None:
    spike = parse_csv("0,100\n600,100\n605,1000\n900,1000\n905,100\n1200,100\n", "s", "s")
    assert upward_steps(spike) == [(600.0, 605.0)]
    slow = parse_csv("0,100\n3600,1000\n", "d", "d")  # a diurnal morning is no step
    assert upward_steps(slow) == []
    small = parse_csv("0,100\n10,150\n", "m", "m")  # +50% is no step
    assert upward_steps(small) == []
    bursts = parse_csv("0,0\n10,0\n12,50\n60,50\n62,0\n100,0\n102,50\n", "b", "b")
    assert upward_steps(bursts) == [(10.0, 12.0), (100.0, 102.0)]
