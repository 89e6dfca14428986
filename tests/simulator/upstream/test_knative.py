"""Knative's own decider tests, as data, against the simulator's KPA decider.

Source: knative/serving pkg/autoscaler/scaling/autoscaler_test.go (commit 98e5ef90aa70, 2026-08-21);
each test names the upstream test it carries over. The inputs (spec, ready pods, stable and panic
values, times) and the expected ScaleResult are upstream's; the code under test is ours.

Upstream's test helper (newTestAutoscalerWithScalingMetric): TotalValue = target / 0.75,
panic threshold 2, max scale-up and scale-down rates 10, stable window 60 s, reachable, no
scale-down delay window, created over one ready pod (two with startInPanic). Upstream compares
ExcessBurstCapacity with a tolerance of 1 (approxEquateInt32); so do we.

Not carried over: TestAutoscalerStartMetrics / TestAutoscalerMetrics* assert OpenTelemetry gauges
(kn.revision.*), which the simulator does not emit; their ScaleResults are checked below.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from plugins.apa.simulator.knative import Decider, DeciderSpec, ScaleResult

TARGET_UTILIZATION = 0.75  # autoscaler_test.go's targetUtilization
NOW = 1000.0  # time.Now() of a test: any instant


def spec(target: float, tbc: float, **changes: object) -> DeciderSpec:
    values: dict[str, object] = {
        "target_value": target,
        "total_value": target / TARGET_UTILIZATION,
        "target_burst_capacity": tbc,
        "panic_threshold": 2.0,
        "max_scale_up_rate": 10.0,
        "max_scale_down_rate": 10.0,
        "stable_window_s": 60.0,
        "reachable": True,
    }
    values.update(changes)
    return DeciderSpec(**values)  # type: ignore[arg-type]


def autoscaler(target: float, tbc: float, *, start_in_panic: bool = False, **changes: object):
    """newTestAutoscaler: created over one ready pod (two to start in panic) at NOW."""
    return Decider(spec(target, tbc, **changes), ready=2 if start_in_panic else 1, now=NOW)


def expected_ebc(tot_cap: float, target_bc: float, recorded: float, pods: float) -> int:
    """autoscaler_test.go's expectedEBC."""
    return math.floor(tot_cap / TARGET_UTILIZATION * pods - target_bc - recorded)


def expect(got: ScaleResult, desired: int, ebc: int, valid: bool = True) -> None:
    assert (got.desired, got.valid) == (desired, valid)
    assert abs(got.excess_burst_capacity - ebc) <= 1


def delay_spec(delay_s: float, reachable: bool) -> DeciderSpec:
    """The ScaleDownDelay tests' spec: target 10, rates 10, panic threshold 100, no TBC."""
    return DeciderSpec(
        target_value=10,
        total_value=0,
        target_burst_capacity=0,
        max_scale_down_rate=10,
        max_scale_up_rate=10,
        panic_threshold=100,
        scale_down_delay_s=delay_s,
        reachable=reachable,
    )


def test_scale_down_delay_simple_and_gradual() -> None:
    """TestAutoscalerScaleDownDelay: a 5 min delay window keeps the largest recent count."""
    delayed = delay_spec(300, reachable=True)
    a = Decider(delayed, ready=0, now=0.0)  # fakePodCounter{}: no ready pods; now = time.Time{}
    # simple
    expect(a.scale(2.0, 0, 40, 40), 4, 0)
    expect(a.scale(300.0, 0, 0, 0), 4, 0)  # five minutes at reduced concurrency: still 4
    expect(a.scale(302.0, 0, 0, 0), 0, 0)  # five minutes and two seconds: down
    # gradual
    expect(a.scale(540.0, 0, 40, 40), 4, 0)
    expect(a.scale(600.0, 0, 30, 30), 4, 0)  # 4 still dominates
    expect(a.scale(660.0, 0, 0, 0), 4, 0)
    expect(a.scale(840.0, 0, 0, 0), 3, 0)  # 4 scrolls out
    expect(a.scale(900.0, 0, 0, 0), 0, 0)  # everything scrolled out


def test_scale_down_delay_not_reachable() -> None:
    """TestAutoscalerScaleDownDelayNotReachable: an unreachable revision skips the delay."""
    reachable = delay_spec(300, reachable=True)
    a = Decider(reachable, ready=0, now=0.0)
    expect(a.scale(2.0, 0, 40, 40), 4, 0)
    expect(a.scale(60.0, 0, 0, 0), 4, 0)
    a.update(delay_spec(300, reachable=False))
    expect(a.scale(2.0, 0, 0, 0), 0, 0)


def test_scale_down_delay_zero() -> None:
    """TestAutoscalerScaleDownDelayZero: no window at all, so a drop applies at once."""
    no_delay = delay_spec(0, reachable=False)  # Reachable left unset upstream
    a = Decider(no_delay, ready=0, now=0.0)
    expect(a.scale(0.0, 0, 40, 40), 4, 0)
    expect(a.scale(0.5, 0, 20, 20), 2, 0)


def test_no_data_no_autoscale() -> None:
    """TestAutoscalerNoDataNoAutoscale: no metrics -> an invalid result {0, 0, false}."""
    expect(autoscaler(10, 100).scale(NOW, 1, None, None), 0, 0, valid=False)


def test_metrics_scale_results() -> None:
    """TestAutoscalerMetrics and TestAutoscalerMetricsWithRPS (the ScaleResults; the gauges
    they also assert are not modelled)."""
    expect(autoscaler(10, 100).scale(NOW, 1, 50, 50), 5, expected_ebc(10, 100, 50, 1))
    rps = autoscaler(10, 100)  # the decider is the same for the rps metric
    expect(rps.scale(NOW + 61, 1, 100, 99), 10, expected_ebc(10, 100, 99, 1))
    assert rps.panic_time == NOW + 61  # panicMetric(true)


def test_start_metrics_panic_state() -> None:
    """TestAutoscalerStartMetrics: created over two ready pods, it starts in panic."""
    a = autoscaler(10, 100, start_in_panic=True)
    assert a.panic_time == NOW and a.max_panic_pods == 2


def test_stable_mode_increase() -> None:
    """TestAutoscalerStableModeIncreaseWithConcurrencyDefault and ...WithRPS."""
    a = autoscaler(10, 101)
    expect(a.scale(NOW, 1, 50, 10), 5, expected_ebc(10, 101, 10, 1))
    expect(a.scale(NOW, 1, 100, 10), 10, expected_ebc(10, 101, 10, 1))
    rps = autoscaler(10, 101)
    expect(rps.scale(NOW, 1, 50, 50), 5, expected_ebc(10, 101, 50, 1))
    expect(rps.scale(NOW, 1, 100, 99), 10, expected_ebc(10, 101, 99, 1))


def test_unpanic_after_slow_increase() -> None:
    """TestAutoscalerUnpanicAfterSlowIncrease: panic ends a stable window after it began."""
    a = autoscaler(1, 98)
    tm = NOW
    expect(a.scale(tm, 10, 11, 25), 25, expected_ebc(1, 98, 25, 10))
    assert a.panic_time == tm
    expect(a.scale(tm + 30, 40, 30, 41), 41, expected_ebc(1, 98, 41, 40))
    assert a.panic_time == NOW  # did not move
    expect(a.scale(tm + 62, 55, 50, 56), 50, expected_ebc(1, 98, 56, 55))
    assert a.panic_time is None


def test_extend_panic_window() -> None:
    """TestAutoscalerExtendPanicWindow: still over the threshold -> the panic is extended."""
    a = autoscaler(1, 98)
    expect(a.scale(NOW, 10, 11, 25), 25, expected_ebc(1, 98, 25, 10))
    assert a.panic_time == NOW
    expect(a.scale(NOW + 30, 40, 30, 80), 80, expected_ebc(1, 98, 80, 40))
    assert a.panic_time == NOW + 30


def test_stable_mode_decrease() -> None:
    """TestAutoscalerStableModeDecrease."""
    a = autoscaler(10, 98)
    expect(a.scale(NOW, 8, 100, 100), 10, expected_ebc(10, 98, 100, 8))
    expect(a.scale(NOW, 8, 50, 50), 5, expected_ebc(10, 98, 50, 8))


def test_stable_mode_no_traffic_scale_to_zero() -> None:
    """TestAutoscalerStableModeNoTrafficScaleToZero."""
    a = autoscaler(10, 75)
    expect(a.scale(NOW, 1, 1, 0), 1, expected_ebc(10, 75, 0, 1))
    expect(a.scale(NOW, 1, 0, 0), 0, expected_ebc(10, 75, 0, 1))


def test_activation_scale() -> None:
    """TestAutoscalerActivationScale: any demand at all asks for at least activationScale."""
    a = autoscaler(10, 75, activation_scale=2)
    expect(a.scale(NOW, 1, 0, 0), 0, expected_ebc(10, 75, 0, 1))
    expect(a.scale(NOW, 1, 1, 0), 2, expected_ebc(10, 75, 0, 1))


def test_panic_mode_exponential_track_and_stabilize() -> None:
    """TestAutoscalerPanicModeExponentialTrackAndStabilize."""
    a = autoscaler(1, 101)
    expect(a.scale(NOW, 1, 6, 6), 6, expected_ebc(1, 101, 6, 1))
    tm = NOW
    expect(a.scale(tm, 6, 36, 36), 36, expected_ebc(1, 101, 36, 6))
    assert a.panic_time == tm
    tm += 1
    expect(a.scale(tm, 36, 216, 216), 216, expected_ebc(1, 101, 216, 36))
    assert a.panic_time == tm
    expect(a.scale(tm, 216, 1296, 1296), 1296, expected_ebc(1, 101, 1296, 216))
    assert a.panic_time == tm
    expect(a.scale(tm + 1, 1296, 1296, 1296), 1296, expected_ebc(1, 101, 1296, 1296))


# TestAutoscalerScale: (label, target, TBC, stable, panic, ready, prep, want scale, want EBC)
SCALE_TABLE = [
    ("AutoscalerNoDataAtZeroNoAutoscale", 10, 100, 0, 0, 1, {}, 0, expected_ebc(10, 100, 0, 1)),
    (
        "AutoscalerNoDataAtZeroNoAutoscaleWithExplicitEPs",
        10,
        100,
        0,
        0,
        1,
        {},
        0,
        expected_ebc(10, 100, 0, 1),
    ),
    ("AutoscalerStableModeUnlimitedTBC", 181, -1, 21, 26, 1, {}, 1, -1),
    ("Autoscaler0TBC", 10, 0, 50, 49, 1, {}, 5, 0),
    ("AutoscalerStableModeNoChange", 10, 100, 50, 50, 1, {}, 5, expected_ebc(10, 100, 50, 1)),
    (
        "AutoscalerPanicStableLargerThanPanic",
        1,
        100,
        50,
        30,
        5,
        {"panic_s_ago": 5, "max_panic_pods": 5},
        50,  # the stable value sets the scale
        expected_ebc(1, 100, 30, 5),
    ),
    (
        "AutoscalerPanicStableLessThanPanic",
        1,
        100,
        20,
        30,
        5,
        {"panic_s_ago": 5, "max_panic_pods": 5},
        30,  # the panic value, being larger
        expected_ebc(1, 100, 30, 5),
    ),
    (
        "AutoscalerStableModeNoChangeAlreadyScaled",
        10,
        100,
        50,
        50,
        5,
        {},
        5,
        expected_ebc(10, 100, 50, 5),
    ),
    (
        "AutoscalerStableModeIncreaseWithSmallScaleUpRate",
        1,
        1982,
        3,
        3.1,
        2,
        {"max_scale_up_rate": 1.1},
        3,
        expected_ebc(1, 1982, 3.1, 2),
    ),
    (
        "AutoscalerStableModeDecreaseWithSmallScaleDownRate",
        10,
        1982,
        1,
        1,
        100,
        {"max_scale_down_rate": 1.1},
        90,
        expected_ebc(10, 1982, 1, 100),
    ),
    (
        "AutoscalerStableModeDecreaseNonReachable",
        10,
        1982,
        1,
        1,
        100,
        {"max_scale_down_rate": 1.1, "reachable": False},
        1,
        expected_ebc(10, 1982, 1, 100),
    ),
    ("AutoscalerPanicModeDoublePodCount", 10, 84, 50, 100, 1, {}, 10, expected_ebc(10, 84, 100, 1)),
]


@pytest.mark.parametrize(
    ("target", "tbc", "stable", "panic", "ready", "prep", "want", "ebc"),
    [case[1:] for case in SCALE_TABLE],
    ids=[case[0] for case in SCALE_TABLE],
)
def test_autoscaler_scale_table(
    target: float,
    tbc: float,
    stable: float,
    panic: float,
    ready: int,
    prep: dict[str, float],
    want: int,
    ebc: int,
) -> None:
    """TestAutoscalerScale, every row."""
    spec_changes: dict[str, Any] = {
        k: v for k, v in prep.items() if k in ("max_scale_up_rate", "max_scale_down_rate")
    }
    if "reachable" in prep:
        spec_changes["reachable"] = prep["reachable"]
    a = autoscaler(target, tbc, **spec_changes)
    if "panic_s_ago" in prep:
        a.panic_time = NOW - prep["panic_s_ago"]
        a.max_panic_pods = int(prep["max_panic_pods"])
    expect(a.scale(NOW, ready, stable, panic), want, ebc)


def test_panic_then_unpanic_scale_down() -> None:
    """TestAutoscalerPanicThenUnPanicScaleDown: no scale-down in panic, then straight down."""
    a = autoscaler(10, 93)
    expect(a.scale(NOW, 1, 100, 100), 10, expected_ebc(10, 93, 100, 1))
    panic_time = NOW
    expect(a.scale(panic_time, 10, 100, 1000), 100, expected_ebc(10, 93, 1000, 10))
    expect(a.scale(panic_time + 30, 10, 1, 1), 100, expected_ebc(10, 93, 1, 10))
    expect(a.scale(panic_time + 61, 10, 1, 1), 1, expected_ebc(10, 93, 1, 10))


def test_rate_limits() -> None:
    """TestAutoscalerRateLimitScaleUp and TestAutoscalerRateLimitScaleDown: x10 / ÷10 a step."""
    up = autoscaler(10, 61)
    expect(up.scale(NOW, 1, 1000, 1001), 10, expected_ebc(10, 61, 1001, 1))
    expect(up.scale(NOW, 10, 1000, 1001), 100, expected_ebc(10, 61, 1001, 10))
    down = autoscaler(10, 61)
    expect(down.scale(NOW, 100, 1, 1), 10, expected_ebc(10, 61, 1, 100))
    expect(down.scale(NOW, 10, 1, 1), 1, expected_ebc(10, 61, 1, 10))


def test_cant_count_pods() -> None:
    """TestCantCountPods: the pod count failed -> invalid."""
    expect(autoscaler(10, 81).scale(NOW, None, 1000, 888), 0, 0, valid=False)


def test_one_pod_as_minimum_without_endpoints() -> None:
    """TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound: rates apply to max(1, ready)."""
    a = autoscaler(10, 81)
    expect(a.scale(NOW, 0, 1000, 888), 10, expected_ebc(10, 81, 888, 0))


def test_update_target() -> None:
    """TestAutoscalerUpdateTarget: a new spec applies on the next Scale."""
    a = autoscaler(10, 77)
    expect(a.scale(NOW, 1, 100, 101), 10, expected_ebc(10, 77, 101, 1))
    a.update(
        DeciderSpec(
            target_value=1,
            total_value=1 / TARGET_UTILIZATION,
            target_burst_capacity=71,
            panic_threshold=2,
            max_scale_down_rate=10,
            max_scale_up_rate=10,
            stable_window_s=60,
            reachable=False,  # left unset upstream
        )
    )
    expect(a.scale(NOW, 10, 100, 101), 100, expected_ebc(1, 71, 101, 10))


def test_start_in_panic_mode_and_new_fail() -> None:
    """TestStartInPanicMode and TestNewFail: panic from creation only over more than one pod;
    a failed count at creation counts as zero."""
    static = DeciderSpec(
        target_value=100,
        total_value=120,
        target_burst_capacity=11,
        panic_threshold=220,
        max_scale_up_rate=10,
        max_scale_down_rate=10,
        stable_window_s=60,
    )
    for ready in range(2):
        a = Decider(static, ready=ready, now=NOW)
        assert a.panic_time is None and a.max_panic_pods == ready
    a = Decider(static, ready=2, now=NOW)
    assert a.panic_time is not None and a.max_panic_pods == 2
    assert Decider(static, ready=0, now=NOW).max_panic_pods == 0  # ReadyCount() failed
