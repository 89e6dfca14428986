"""`knobless diff` and semantic lint on a synthetic repository, against floors measured in the
same run.

    python bench/diff.py [--endpoints 1000]

The repository is bench/synthetic.py's (N endpoints, three environments), committed to a fresh
git repository; the change is an environment edit that touches every endpoint of `prod` (a new
sidecar image: every Deployment restarts). Prints:

  (a) floor: two in-memory compiles (what any diff-by-rendering must do at least)
  (b) `knobless diff` end to end (git archive, both compiles, structural diff, summary)
  (c) formatting text + markdown + JSON
  (d) load + parse (the floor validate runs after), and validate (resolve + lint) over every endpoint/environment
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import make_repository
from compiler.parallel import validate_sources
from compiler.pipeline import compile_repository
from compiler.plugins import build_plugin_manager
from compiler.review.jsonout import render_json
from compiler.review.markdown import render_markdown
from compiler.review.runner import review
from compiler.review.text import render_text
from compiler.sources import load, parse_all


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=b@example.com", *args],
        check=True,
        capture_output=True,
        timeout=600,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=1000)
    count = parser.parse_args().endpoints
    with tempfile.TemporaryDirectory() as temporary:
        root = make_repository(Path(temporary) / "repo", count)
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "base")
        prod = root / "environments" / "prod.jsonnet"
        prod.write_text(
            prod.read_text().replace(
                "overrides: {", "runtimes+: { otelCollector: 'otel/collector:2' },\n  overrides: {"
            )
        )
        started = time.perf_counter()
        compile_repository(root)
        compile_repository(root)
        floor = time.perf_counter() - started

        started = time.perf_counter()
        result = review(root, "HEAD")
        full = time.perf_counter() - started

        started = time.perf_counter()
        markdown = render_markdown(result)
        render_text(result)
        render_json(result)
        formatting = time.perf_counter() - started

        manager = build_plugin_manager(root=root)
        started = time.perf_counter()
        sources = parse_all(load(root, None))
        resolving = time.perf_counter() - started
        started = time.perf_counter()
        validation = validate_sources(sources, manager, selected=None, strict=False, jobs=1)
        linting = time.perf_counter() - started

    pairs = validation.pairs
    print(f"{count} endpoints x 3 environments, {len(result.diff.objects)} objects changed")
    print(f"(a) floor, two compiles:      {floor:7.2f} s")
    print(f"(b) knobless diff:            {full:7.2f} s  = {full / floor:.2f}x (a)")
    print(f"(c) text + markdown + json:   {formatting:7.2f} s  (markdown {len(markdown):,} chars)")
    print(f"(d) load + parse:             {resolving:7.2f} s")
    print(f"    validate ({pairs} pairs):  {linting:7.2f} s  = {linting / resolving:.2f}x load")


if __name__ == "__main__":
    main()
