"""Benchmark `knobless compile` against a floor, and against another commit, in the same run.

The floor is plain Python doing the least a compiler must: build the same kinds of objects (the
manifests of one endpoint of each shape, copied with names substituted) and write them one per
file with PyYAML's C dumper. knobless is timed on the same synthetic repository
(bench/synthetic.py: N endpoints in three environments, shaped like the examples) for: a full
compile into an empty rendered/ on one core and on two (`--jobs`), `compile --check`, a
recompile with nothing changed, after editing one endpoint and after adding one (the incremental
path), and `validate`.

With `--baseline REF`, the same steps run on a copy of the repository with the compiler of commit
REF (its tree, `git archive`d, first on PYTHONPATH; same interpreter and dependencies), each step
alternating between the two so that a busy spell of the machine hits both. Figures are seconds,
per rendered file, as ratios to the floor and to the baseline, because these machines are noisy
and only ratios travel. The short steps run `--repeat` times (the best is kept).

    flock /tmp/bench.lock python bench/compile.py --endpoints 1000 --baseline cdb6643
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.synthetic import SHAPES, make_repository, name_of
from bench.timing import Measured as Run
from bench.timing import measure, timed

PROJECT = Path(__file__).resolve().parent.parent
KNOBLESS = [sys.executable, "-m", "compiler"]


@dataclass
class Compiler:
    """One knobless (this checkout or a baseline commit's) and its own copy of the repository."""

    label: str
    repo: Path
    env: dict[str, str] = field(default_factory=dict)
    edits: int = 0

    def run(self, *arguments: str) -> Run:
        # `compile --check` exits 1 when stale: timed all the same, the step reads what it says
        return measure([*KNOBLESS, *arguments], self.repo, ok=(0, 1), env=self.env)


def checkout(ref: str, into: Path) -> Path:
    """The tree of commit `ref` (what `git archive` gives: no .git, no work-tree edits)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _fresh(compiler: Compiler) -> None:
    """A fresh clone: no rendered/, no compile cache."""
    shutil.rmtree(compiler.repo / "rendered", ignore_errors=True)
    shutil.rmtree(compiler.repo / ".knobless", ignore_errors=True)


def full(jobs: int) -> Callable[[Compiler], Run]:
    def step(compiler: Compiler) -> Run:
        _fresh(compiler)
        return compiler.run("compile", "--jobs", str(jobs))

    return step


def check(compiler: Compiler) -> Run:
    return compiler.run("compile", "--check")


def unchanged(compiler: Compiler) -> Run:
    return compiler.run("compile")


def edit_one(compiler: Compiler) -> Run:
    """A new ceiling for one endpoint (another value every repeat, so each compile has work)."""
    compiler.edits += 1
    edited = compiler.repo / "endpoints" / f"{name_of(3)}.yaml"
    text = edited.read_text()
    old = text.split("max: ", 1)[1].split("}", 1)[0]
    edited.write_text(text.replace(f"max: {old}}}", f"max: {1000 + 100 * compiler.edits}}}"))
    return compiler.run("compile")


def add_one(compiler: Compiler) -> Run:
    compiler.edits += 1
    index = 90_000 + compiler.edits * SHAPES + 1  # a scorer: it calls no other endpoint
    source = (compiler.repo / "endpoints" / f"{name_of(1)}.yaml").read_text()
    added = compiler.repo / "endpoints" / f"{name_of(index)}.yaml"
    added.write_text(source.replace(name_of(1), name_of(index)))
    return compiler.run("compile")


def validate(compiler: Compiler) -> Run:
    return compiler.run("validate")


@dataclass(frozen=True)
class Step:
    key: str
    """What --steps calls it."""
    label: str
    run: Callable[[Compiler], Run]
    full: bool = False
    """A full compile: repeated --repeat-full times (the others --repeat times)."""


STEPS = [
    Step("full", "compile (full, empty rendered/, 1 process)", full(1), full=True),
    Step("parallel", "compile (full, empty rendered/, --jobs 2)", full(2), full=True),
    Step("check", "compile --check", check),
    Step("unchanged", "compile again, nothing changed", unchanged),
    Step("edit", "compile after editing 1 endpoint", edit_one),
    Step("add", "compile after adding 1 endpoint", add_one),
    Step("validate", "validate (specs only)", validate),
]
"""In this order: the steps after `parallel` need its rendered/ and compile cache."""


def floor(out: Path, templates: dict[int, list[tuple[str, dict]]], count: int) -> int:
    """Build and write the same kinds of objects with no validation: the least work possible."""
    written = 0
    for env in ("dev", "prod", "staging"):
        for index in range(count):
            name = name_of(index)
            for relative, body in templates[index % SHAPES]:
                text = json.dumps(body)
                for shape in range(SHAPES):
                    text = text.replace(name_of(shape), name)
                path = out / env / name / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(yaml.dump(json.loads(text), Dumper=yaml.CDumper, sort_keys=False))
                written += 1
    return written


def load_templates(repo: Path) -> dict[int, list[tuple[str, dict]]]:
    """The manifests of model-0000{0..4} in prod: one endpoint of each shape."""
    templates: dict[int, list[tuple[str, dict]]] = {}
    for shape in range(SHAPES):
        folder = repo / "rendered" / "prod" / name_of(shape)
        templates[shape] = [
            (p.name, yaml.load(p.read_text(), Loader=yaml.CSafeLoader))
            for p in sorted(folder.iterdir())
        ]
    return templates


def measure_floor(work: Path, endpoints: int) -> tuple[float, int]:
    small = make_repository(work / "small", SHAPES)
    subprocess.run([*KNOBLESS, "compile", "--root", str(small)], check=True, capture_output=True)
    templates = load_templates(small)
    start = time.perf_counter()
    files = floor(work / "floor", templates, endpoints)
    return time.perf_counter() - start, files


def measure_steps(
    compilers: list[Compiler], steps: list[Step], repeat: int, repeat_full: int
) -> dict[str, list[list[Run]]]:
    """Each step on every compiler in turn: results[label][i] are compilers[i]'s runs."""
    results: dict[str, list[list[Run]]] = {}
    for step in steps:
        runs: list[list[Run]] = [[] for _ in compilers]
        for _ in range(repeat_full if step.full else repeat):
            for index, compiler in enumerate(compilers):
                runs[index].append(step.run(compiler))
        results[step.label] = runs
        every = "; ".join(
            ", ".join(f"{run.seconds:.2f} ({run.cpu_seconds:.2f} cpu)" for run in r) for r in runs
        )
        print(f"  {step.label}: {every} s", flush=True)
    return results


def differing_files(first: Path, second: Path) -> int:
    """Files that differ between two rendered/ trees (or exist in one only)."""
    count = 0
    stack = [filecmp.dircmp(first, second)]
    while stack:
        comparison = stack.pop()
        count += len(comparison.left_only) + len(comparison.right_only)
        count += len(comparison.diff_files) + len(comparison.funny_files)
        stack.extend(comparison.subdirs.values())
    return count


def report(
    compilers: list[Compiler], results: dict[str, list[list[Run]]], floor_s: float, files: int
) -> None:
    """Best wall and best CPU time of each step (each the minimum over its runs)."""
    header = (
        f"{'step':44} {'seconds':>8} {'us/file':>8} {'x floor':>8} {'cpu s':>7} {'peak MiB':>9}"
    )
    if len(compilers) > 1:
        base = compilers[1].label
        header += f" {base + ' s':>12} {base + ' cpu':>12} {'x wall':>7} {'x cpu':>6}"
    print(header)
    for label, runs in results.items():
        wall = [min(r.seconds for r in mine) for mine in runs]
        cpu = [min(r.cpu_seconds for r in mine) for mine in runs]
        rss = max(r.rss for r in runs[0])
        line = (
            f"{label:44} {wall[0]:8.2f} {wall[0] / files * 1e6:8.0f} "
            f"{wall[0] / floor_s if floor_s else float('nan'):8.3f} {cpu[0]:7.2f} {rss:9d}"
        )
        if len(runs) > 1:
            line += (
                f" {wall[1]:12.2f} {cpu[1]:12.2f} {wall[0] / wall[1]:7.2f} {cpu[0] / cpu[1]:6.2f}"
            )
        print(line)
    last = list(results.values())[-1]
    for compiler, compiler_runs in zip(compilers, last, strict=True):
        print(f"{compiler.label}'s last run said: {compiler_runs[-1].said}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument(
        "--baseline", metavar="REF", help="also time the compiler of this commit, in turn"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each short step (best kept)")
    parser.add_argument(
        "--repeat-full", type=int, default=1, help="runs of each full compile (best kept)"
    )
    parser.add_argument(
        "--steps",
        default=",".join(step.key for step in STEPS),
        help="comma-separated subset of: %(default)s (the ones after `parallel` need it)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (ratios to it: -)")
    args = parser.parse_args()
    wanted = set(args.steps.split(","))
    unknown = wanted - {step.key for step in STEPS}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    steps = [step for step in STEPS if step.key in wanted]
    work = Path(tempfile.mkdtemp(prefix="knobless-bench-"))
    try:
        repo = make_repository(work / "repo", args.endpoints)
        compilers = [Compiler("knobless", repo)]
        if args.baseline:
            code = checkout(args.baseline, work / "baseline-code")
            shutil.copytree(repo, work / "baseline-repo")
            compilers.append(
                Compiler(args.baseline, work / "baseline-repo", {"PYTHONPATH": str(code)})
            )
        floor_s, files = (0.0, 0) if args.no_floor else measure_floor(work, args.endpoints)
        print(
            f"synthetic repository: {args.endpoints} endpoints x 3 environments; "
            f"floor (build + C-dump {files} files, no validation): {floor_s:.2f} s",
            flush=True,
        )
        results = measure_steps(compilers, steps, args.repeat, args.repeat_full)
        files = files or sum(len(f) for _, _, f in os.walk(repo / "rendered"))
        if args.baseline:
            differ = differing_files(repo / "rendered", work / "baseline-repo" / "rendered")
            print(f"rendered/ of knobless and {args.baseline}: {differ} files differ")
        report(compilers, results, floor_s, files)
        startup_s, _, _ = timed([sys.executable, "-c", "import compiler.cli"], repo)
        print(f"Python start-up + `import compiler.cli` alone: {startup_s:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
