"""`knobless simulate`: replay a traffic trace through the autoscalers before a change ships."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from compiler import hookimpl
from compiler.errors import UsageError
from compiler.extras import require_extra
from plugins.apa.simulator.constants import DEFAULT_SCRAPE_S, POLICIES, REFERENCES

DESCRIPTION = """\
Replay a traffic trace through the APA scaler's own decision code and a model of KEDA and the
HPA (and through the `fixed`, `cpu`, `kpa` and `ray` baselines), and print what each would cost and
how it would hold: replica-seconds, GPU-hours, latency percentiles, requests over the SLO or
rejected, time to capacity after each upward step, scale direction changes.

The trace is a CSV `t_seconds,rps[,cost]` (any step; interpolated) or a Prometheus range-query
JSON export. The model profile defaults come from the served version's runtime; every figure
can be overridden. Deterministic for a given --seed.
"""

EPILOG = """\
exit codes:
  0  simulated
  1  invalid trace, endpoint or environment (file:line:col: error: ...)
  2  usage error
"""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


@hookimpl
def knobless_add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="replay a traffic trace through the autoscalers (cost, latency, rejections)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "endpoint", metavar="ENDPOINT", help="endpoint name (endpoints/<name>.yaml)"
    )
    parser.add_argument("--env", required=True, metavar="ENV", help="environment to resolve it in")
    parser.add_argument("--trace", required=True, type=Path, metavar="FILE", help="CSV or JSON")
    parser.add_argument("--served", metavar="NAME", help="served version (default: most traffic)")
    parser.add_argument(
        "--policy",
        action="append",
        choices=POLICIES + REFERENCES,
        help="policy to simulate (repeatable; default: all of "
        + ", ".join(POLICIES)
        + "; `oracle` and `oracle-hpa` are the perfectly informed references: they know the "
        "true demand every second, `oracle` sets the replicas at once, `oracle-hpa` through "
        "KEDA and the HPA as rendered)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="write a plot to this file")
    parser.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR", help="repository root (default: .)"
    )
    model = parser.add_argument_group("model profile (defaults from the runtime)")
    model.add_argument("--service-time-ms", type=_positive, metavar="MS")
    model.add_argument("--service-time-cv", type=_non_negative, metavar="CV")
    model.add_argument(
        "--replica-capacity",
        type=_positive,
        metavar="N",
        help="true concurrency per replica before latency climbs (the scaler does not know it)",
    )
    model.add_argument("--startup-s", type=_non_negative, metavar="S", help="pod start to Ready")
    model.add_argument("--slo-ms", type=_positive, metavar="MS")
    model.add_argument("--timeout-s", type=_positive, metavar="S")
    model.add_argument("--queue-limit", type=_positive, metavar="N", help="per replica")
    model.add_argument(
        "--container-concurrency", type=int, metavar="N", help="Knative containerConcurrency (kpa)"
    )
    sim = parser.add_argument_group("simulation")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--rps-scale", type=_positive, default=1.0, metavar="X", help="multiply the trace's rate"
    )
    sim.add_argument(
        "--fixed-target",
        type=_positive,
        metavar="N",
        help="per-replica target of `fixed` (default: 70%% of the true capacity)",
    )
    sim.add_argument(
        "--scrape-s",
        type=int,
        default=DEFAULT_SCRAPE_S,
        metavar="S",
        help=f"Prometheus scrape interval (default {DEFAULT_SCRAPE_S})",
    )
    sim.add_argument(
        "--history-s",
        type=_non_negative,
        default=0.0,
        metavar="S",
        help="the trace's first S seconds are history: apa's forecast learns from them, the "
        "rest is simulated (default 0: the forecast learns from its own samples only)",
    )
    sim.add_argument(
        "--no-forecast",
        action="store_true",
        help="apa without forecast floors (reactive only)",
    )
    sim.add_argument(
        "--warmup-s",
        type=_non_negative,
        metavar="S",
        help="seconds at the trace's first rate before it starts, not counted (default: 600 + "
        "twice the start-up time; 0 starts the trace at once, to measure learning)",
    )
    sim.add_argument(
        "--initial-target",
        type=_positive,
        metavar="N",
        help="the APA's starting per-replica target (default: the rendered initial one; "
        "clamped into the per-replica bounds)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    require_extra("simulate", "simulate")
    from plugins.apa.simulator.endpoint import served_system
    from plugins.apa.simulator.profile import runtime_profile
    from plugins.apa.simulator.report import print_text, to_json_text
    from plugins.apa.simulator.simulation import Settings, simulate
    from plugins.apa.simulator.trace import load_trace

    root: Path = args.root
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    if args.scrape_s < 1:
        raise UsageError(f"--scrape-s {args.scrape_s}: must be a whole number of seconds >= 1")
    if args.container_concurrency is not None and args.container_concurrency < 1:
        raise UsageError("--container-concurrency must be >= 1")
    trace = load_trace(args.trace, str(args.trace))
    if args.rps_scale != 1.0:
        trace = trace.scaled(args.rps_scale)
    system = served_system(root.resolve(), args.env, args.endpoint, args.served)
    profile = runtime_profile(
        system.runtime, cpu_cores=system.cpu_cores, gpu_count=system.gpu_count
    ).with_overrides(
        service_time_ms=args.service_time_ms,
        service_time_cv=args.service_time_cv,
        replica_capacity=args.replica_capacity,
        startup_s=args.startup_s,
        slo_ms=args.slo_ms,
        timeout_s=args.timeout_s,
        queue_limit=args.queue_limit,
        container_concurrency=args.container_concurrency,
    )
    policies = tuple(dict.fromkeys(args.policy or POLICIES))
    if args.history_s and not 0 < args.history_s < trace.duration_s:
        raise UsageError(
            f"--history-s {args.history_s:g}: must be shorter than the trace "
            f"({trace.duration_s:g} s)"
        )
    settings = Settings(
        seed=args.seed,
        scrape_s=args.scrape_s,
        fixed_target=args.fixed_target,
        history_s=args.history_s,
        forecast=not args.no_forecast,
        warmup_s=None if args.warmup_s is None else round(args.warmup_s),
        initial_target=args.initial_target,
    )
    simulation = simulate(system, profile, trace, policies, settings)
    if args.format == "json":
        sys.stdout.write(to_json_text(simulation))
    else:
        print_text(simulation, sys.stdout)
    if args.plot is not None:
        from plugins.apa.simulator.plot import write_plot

        try:
            write_plot(simulation, args.plot)
        except OSError as error:
            raise UsageError(f"--plot {args.plot}: {error.strerror or error}") from None
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
