"""Benchmark `knobless compile` against a floor measured in the same run.

The floor is plain Python doing the least a compiler must: build the same kinds of objects (the
manifests of one endpoint of each shape, copied with names substituted) and write them one per
file with PyYAML's C dumper. knobless is timed on the same synthetic repository (N endpoints in
three environments, shaped like the examples) for: a full compile into an empty rendered/,
`compile --check`, a recompile with nothing changed, after editing one endpoint and after adding one (the
incremental path), and `validate`. Figures are per rendered
file and as ratios to the floor, because these machines are noisy and only ratios travel.

    python bench/compile.py --endpoints 1000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import make_repository
from timing import timed


def timed_ok(command: list[str], cwd: Path) -> tuple[float, int, str]:
    return timed(command, cwd, ok=(0, 1))  # `compile --check` exits 1 when stale


KNOBLESS = [sys.executable, "-m", "compiler"]


def floor(repo: Path, out: Path, templates: dict[int, list[tuple[str, dict]]], count: int) -> int:
    """Build and write the same kinds of objects with no validation: the least work possible."""
    written = 0
    for env in ("dev", "prod", "staging"):
        for index in range(count):
            name = f"model-{index:05d}"
            for relative, body in templates[index % 5]:
                text = json.dumps(body).replace("model-00000", name).replace("model-00001", name)
                data = json.loads(
                    text.replace("model-00002", name)
                    .replace("model-00003", name)
                    .replace("model-00004", name)
                )
                path = out / env / name / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(yaml.dump(data, Dumper=yaml.CDumper, sort_keys=False))
                written += 1
    return written


def load_templates(repo: Path) -> dict[int, list[tuple[str, dict]]]:
    """The manifests of model-0000{0..4} in prod: one endpoint of each shape."""
    templates: dict[int, list[tuple[str, dict]]] = {}
    for shape in range(5):
        folder = repo / "rendered" / "prod" / f"model-{shape:05d}"
        templates[shape] = [
            (p.name, yaml.load(p.read_text(), Loader=yaml.CSafeLoader))
            for p in sorted(folder.iterdir())
        ]
    return templates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="knobless-bench-"))
    try:
        repo = make_repository(work / "repo", args.endpoints)
        small = make_repository(work / "small", 5)
        subprocess.run(
            [*KNOBLESS, "compile", "--root", str(small)], check=True, capture_output=True
        )
        templates = load_templates(small)

        start = time.perf_counter()
        files = floor(repo, work / "floor", templates, args.endpoints)
        floor_s = time.perf_counter() - start

        full_s, full_rss, full_msg = timed_ok([*KNOBLESS, "compile"], repo)
        rendered = sum(len(f) for _, _, f in os.walk(repo / "rendered"))
        check_s, check_rss, _ = timed_ok([*KNOBLESS, "compile", "--check"], repo)
        noop_s, noop_rss, _ = timed_ok([*KNOBLESS, "compile"], repo)
        edited = repo / "endpoints" / "model-00003.yaml"
        edited.write_text(edited.read_text().replace("max: 1000", "max: 1200"))
        again_s, again_rss, again_msg = timed_ok([*KNOBLESS, "compile"], repo)
        added = repo / "endpoints" / "model-99999.yaml"
        added.write_text(edited.read_text().replace("model-00003", "model-99999"))
        add_s, add_rss, _ = timed_ok([*KNOBLESS, "compile"], repo)
        startup_s, _, _ = timed([sys.executable, "-c", "import compiler.cli"], repo)
        validate_s, validate_rss, _ = timed_ok([*KNOBLESS, "validate"], repo)

        per_file = lambda seconds: seconds / rendered * 1e6  # noqa: E731
        print(
            f"synthetic repository: {args.endpoints} endpoints x 3 environments -> {rendered} files"
        )
        print(
            f"floor (build + C-dump {files} files, no validation): {floor_s:7.2f} s  {per_file(floor_s):6.0f} us/file"
        )
        rows = [
            ("compile (full, empty rendered/)", full_s, full_rss),
            ("compile --check", check_s, check_rss),
            ("compile again, nothing changed", noop_s, noop_rss),
            ("compile after editing 1 endpoint", again_s, again_rss),
            ("compile after adding 1 endpoint", add_s, add_rss),
            ("validate (specs only)", validate_s, validate_rss),
        ]
        print(f"{'step':38} {'seconds':>8} {'us/file':>8} {'x floor/file':>12} {'peak MiB':>9}")
        for label, seconds, rss in rows:
            print(
                f"{label:38} {seconds:8.2f} {per_file(seconds):8.0f} {seconds / floor_s:8.2f} {rss:9d}"
            )
        print(
            f"incremental: edit 1 endpoint {again_s:.2f} s = {again_s / full_s:.4f}x the full "
            f"compile; Python start-up + imports alone {startup_s:.2f} s"
        )
        print(f"last compile said: {again_msg or full_msg}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
