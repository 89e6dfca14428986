"""Benchmark `knobless validate` against a floor measured in the same run.

The floor is plain Python doing the least a spec validator must: read every endpoint file, load it
with PyYAML's C loader (no positions, no duplicate-key or alias checks) and validate it with the
same pydantic model once per environment (no merging of environment layers, no runtime selection,
no plugins, no lint). knobless is timed on the same synthetic repository (bench/synthetic.py: N
endpoints shaped like the examples, three environments), serial (`--jobs 1`) and with every core.
Both run in a fresh interpreter, imports included, best of --repeat runs.

    flock /tmp/bench.lock python bench/validate.py --endpoints 10000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import make_repository
from timing import timed

KNOBLESS = [sys.executable, "-m", "compiler"]
ENVIRONMENTS = 3

FLOOR = """
import sys
from pathlib import Path

import yaml

from compiler.models.endpoint import EndpointSpec

for file in sorted(Path(sys.argv[1], "endpoints").iterdir()):
    data = yaml.load(file.read_text(), Loader=yaml.CSafeLoader)
    for _ in range({environments}):
        EndpointSpec.model_validate(data)
"""


def best(command: list[str], cwd: Path, repeat: int) -> tuple[float, int, str]:
    runs = [timed(command, cwd) for _ in range(repeat)]
    return min(runs, key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (best is kept)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="knobless-bench-validate-"))
    try:
        repo = make_repository(work / "repo", args.endpoints)
        floor = [sys.executable, "-c", FLOOR.format(environments=ENVIRONMENTS), str(repo)]
        floor_s, floor_rss, _ = best(floor, repo, args.repeat)
        serial_s, serial_rss, said = best([*KNOBLESS, "validate", "--jobs", "1"], repo, args.repeat)
        parallel_s, parallel_rss, _ = best([*KNOBLESS, "validate"], repo, args.repeat)
        pairs = args.endpoints * ENVIRONMENTS
        print(
            f"synthetic repository: {args.endpoints} endpoints x {ENVIRONMENTS} environments "
            f"({pairs} endpoint-environment pairs), {os.cpu_count()} cores, best of {args.repeat}"
        )
        print(f"{'step':44} {'seconds':>8} {'us/pair':>8} {'x floor':>8} {'peak MiB':>9}")
        rows = [
            ("floor (C-load + pydantic, no positions)", floor_s, floor_rss),
            ("knobless validate --jobs 1", serial_s, serial_rss),
            ("knobless validate (every core)", parallel_s, parallel_rss),
        ]
        for label, seconds, rss in rows:
            print(
                f"{label:44} {seconds:8.2f} {seconds / pairs * 1e6:8.0f} "
                f"{seconds / floor_s:8.2f} {rss:9d}"
            )
        print(f"knobless said: {said}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
