"""Schema validation of rendered objects: kubernetes-validate vs a cached jsonschema validator vs
knobless' SchemaChecker (fastjsonschema, compiled once and cached on disk), in one run.

    python bench/schemacheck.py [--endpoints 300] [--reference-sample 300] [--repeat 3]

The objects are what `knobless compile` renders for a synthetic repository (bench/synthetic.py,
three environments), so the mix of kinds is the compiler's own. Prints the time per object of:

  (a) kubernetes_validate.validate(obj, version, strict=True)   (builds a validator per call)
  (b) jsonschema, one Draft 2020-12 validator per kind built once (kubernetes-validate's schemas
      with a referencing Registry; the CRD schema files for KEDA/Argo CD/Gateway kinds)
  (c) SchemaChecker.check with a warm disk cache
  (d) PyYAML's C dumper writing the same object (the floor of `bench/compile.py` per file)
  (e) if installed, jsonschema-rs (Rust) on the same bundled schemas, for comparison

with ratios to (a) and to (d), the time to build a checker (cold: compiling every kind; warm:
from the disk cache), and the projection to 10,000 endpoints x 3 environments.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import make_repository
from compiler.pipeline import compile_repository
from compiler.schemacheck import CRD_SCHEMA_DIR, SchemaChecker
from compiler.schemacheck.sources import KUBERNETES_SCHEMAS

VERSION = "1.33"


def rendered_objects(endpoints: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as scratch:
        root = make_repository(Path(scratch), endpoints)
        result = compile_repository(root)
    return [m.body for manifests in result.manifests.values() for m in manifests]


def best_time(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def jsonschema_validators(objects: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """(b): one validator per kind, built once, as a careful user of the same schemas would."""
    directory = KUBERNETES_SCHEMAS / f"v{VERSION}.0-local-strict"
    definitions = Resource.from_contents(json.loads((directory / "_definitions.json").read_text()))
    crds = {}
    for path in CRD_SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        names = schema.pop("x-knobless-kind")
        crds[(names["apiVersion"], names["kind"])] = schema
    validators = {}
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in validators:
            continue
        if key in crds:
            cls = jsonschema.validators.validator_for(crds[key])
            validators[key] = cls(crds[key])
            continue
        group, _, version = key[0].rpartition("/")
        stem = (
            f"{key[1].lower()}-{group.split('.')[0]}-{version}"
            if group
            else f"{key[1].lower()}-{version}"
        )
        schema = json.loads((directory / f"{stem}.json").read_text())
        registry: Registry = Resource.from_contents(schema) @ Registry()
        registry = definitions @ registry
        validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
    return validators


def rust_time(objects: list[dict[str, Any]], checker: SchemaChecker, repeat: int) -> float | None:
    """(e), only if jsonschema-rs is importable: a Rust validator on the same bundled schemas."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    validators = {}
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key not in validators:
            source = checker._source(*key)
            assert source is not None
            validators[key] = jsonschema_rs.Draft7Validator(source.bundled())
    assert all(validators[(o["apiVersion"], o["kind"])].is_valid(o) for o in objects)
    return best_time(
        lambda: [validators[(o["apiVersion"], o["kind"])].is_valid(o) for o in objects], repeat
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--endpoints", type=int, default=300, help="synthetic endpoints (x3 environments)"
    )
    parser.add_argument("--reference-sample", type=int, default=300, help="objects timed with (a)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    objects = rendered_objects(args.endpoints)
    kinds = Counter(f"{o['kind']} {o['apiVersion']}" for o in objects)
    builtin = [
        o
        for o in objects
        if "keda.sh" not in o["apiVersion"]
        and "argoproj" not in o["apiVersion"]
        and "gateway.networking" not in o["apiVersion"]
    ]
    print(
        f"{len(objects)} rendered objects ({args.endpoints} endpoints x 3 environments), "
        f"{len(builtin)} of built-in kinds; kinds: "
        + ", ".join(f"{k} x{n}" for k, n in kinds.most_common())
    )

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        cold = SchemaChecker(VERSION, extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=Path(cache))
        for key in {(o["apiVersion"], o["kind"]): o for o in objects}.values():
            cold.check(key)
        cold_build = time.perf_counter() - start
        start = time.perf_counter()
        checker = SchemaChecker(VERSION, extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=Path(cache))
        for key in {(o["apiVersion"], o["kind"]): o for o in objects}.values():
            checker.check(key)
        warm_build = time.perf_counter() - start
        assert all(checker.check(o) == [] for o in objects), "rendered objects must be valid"

        # Every k-th object: the same mix of kinds as the whole corpus.
        step = max(1, len(builtin) // args.reference_sample)
        sample = builtin[::step][: args.reference_sample]
        t_a = best_time(
            lambda: [kubernetes_validate.validate(o, VERSION, strict=True) for o in sample], 1
        )
        validators = jsonschema_validators(objects)
        t_b_sample = best_time(
            lambda: [validators[(o["apiVersion"], o["kind"])].is_valid(o) for o in sample],
            args.repeat,
        )
        t_b = best_time(
            lambda: [validators[(o["apiVersion"], o["kind"])].is_valid(o) for o in objects],
            args.repeat,
        )
        t_c_sample = best_time(lambda: [checker.check(o) for o in sample], args.repeat)
        t_c = best_time(lambda: [checker.check(o) for o in objects], args.repeat)
        t_d = best_time(
            lambda: [yaml.dump(o, Dumper=yaml.CSafeDumper, sort_keys=False) for o in objects],
            args.repeat,
        )
        t_e = rust_time(objects, checker, args.repeat)

        per_kind: dict[str, list[float]] = defaultdict(list)
        for obj in objects:
            start = time.perf_counter()
            checker.check(obj)
            per_kind[obj["kind"]].append(time.perf_counter() - start)

    us = 1e6
    a, b, c, d = (
        t_a / len(sample) * us,
        t_b / len(objects) * us,
        t_c / len(objects) * us,
        t_d / len(objects) * us,
    )
    b_s, c_s = t_b_sample / len(sample) * us, t_c_sample / len(sample) * us
    print(f"\nper object, built-in kinds only ({len(sample)} objects; the (a) baseline):")
    print(f"  (a) kubernetes_validate.validate   {a:10.1f} µs   1.0x")
    print(f"  (b) jsonschema, cached validator   {b_s:10.1f} µs   {a / b_s:.0f}x faster than (a)")
    print(
        f"  (c) knobless SchemaChecker         {c_s:10.1f} µs   {a / c_s:.0f}x faster than (a), "
        f"{b_s / c_s:.0f}x faster than (b)"
    )
    print(f"\nper object, every rendered object ({len(objects)}, CRD kinds included):")
    print(f"  (b) jsonschema, cached validator   {b:10.1f} µs")
    print(f"  (c) knobless SchemaChecker         {c:10.1f} µs   {b / c:.0f}x faster than (b)")
    print(f"  (d) PyYAML CSafeDumper, dump only  {d:10.1f} µs   (c) costs {c / d:.2f}x of (d)")
    if t_e is None:
        print("  (e) jsonschema-rs                  not installed (optional, for comparison)")
    else:
        e = t_e / len(objects) * us
        print(f"  (e) jsonschema-rs, same schemas    {e:10.1f} µs   {c / e:.1f}x faster than (c)")
    typical = sum(statistics.median(t) * len(t) for t in per_kind.values()) / len(objects) * us
    print(
        f"\n(c) per object from per-kind medians (robust to a busy machine): {typical:.1f} µs; "
        "per kind (median µs): "
        + ", ".join(
            f"{kind} {statistics.median(times) * us:.1f}"
            for kind, times in sorted(per_kind.items())
        )
    )
    print(
        f"\nchecker build + first use of {len(per_kind)} kinds: "
        f"cold cache {cold_build * 1000:.0f} ms, "
        f"warm cache {warm_build * 1000:.1f} ms"
    )
    per_endpoint = len(objects) / args.endpoints
    projected = 10_000 * per_endpoint
    print(
        f"projection, 10,000 endpoints x 3 environments (~{projected:,.0f} objects): "
        f"(c) {projected * c / us:.1f} s on one core, (b) {projected * b / us:.0f} s, "
        f"(a) {projected * a / us / 60:.0f} min"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
