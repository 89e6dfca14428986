"""Origins of merged values, worked out on first read: the same answer as merging layer by layer
and recording each value's layer as it is written."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.context import Origin
from compiler.environments import load_environment
from compiler.loader import load_yaml
from compiler.origins import LazyOrigins
from compiler.plugins import build_plugin_manager
from compiler.resolve import Layer, layer_origins, merge_data, resolve_endpoint

FieldPath = tuple[str | int, ...]


def _nodes(value: Any, path: FieldPath) -> list[FieldPath]:
    if isinstance(value, dict):
        return [path, *(n for k, v in value.items() for n in _nodes(v, (*path, k)))]
    if isinstance(value, list):
        return [path, *(n for i, v in enumerate(value) for n in _nodes(v, (*path, i)))]
    return [path]


def eager_merge(layers: list[Layer]) -> tuple[Any, dict[FieldPath, Origin]]:
    """The merge as knobless did it before origins were lazy: write by write."""
    origins: dict[FieldPath, Origin] = {}

    def overlay(base: Any, top: Any, path: FieldPath, layer: Layer) -> Any:
        if isinstance(base, dict) and isinstance(top, dict):
            origins[path] = layer.origin_of(path)
            result = dict(base)
            for key, value in top.items():
                result[key] = overlay(base.get(key), value, (*path, key), layer)
            return result
        for stale in [p for p in origins if p[: len(path)] == path]:
            del origins[stale]
        for node in _nodes(top, path):
            origins[node] = layer.origin_of(node)
        return top

    merged: Any = {}
    for layer in layers:
        if layer.data:
            merged = overlay(merged, layer.data, (), layer)
    return merged, origins


def layer(name: str, data: Any) -> Layer:
    return Layer(name, data, lambda path: Origin(f"{name}.yaml", len(path) + 1, 1, name))


keys = st.sampled_from(["scaling", "concurrency", "min", "max", "served", "x"])
values = st.recursive(
    st.one_of(st.none(), st.integers(0, 9), st.sampled_from(["a", "b"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)
layer_data = st.one_of(st.just({}), st.none(), st.dictionaries(keys, values, max_size=4))


@settings(max_examples=400)
@given(st.lists(layer_data, min_size=1, max_size=4))
def test_origins_are_those_of_the_layer_that_last_wrote(stack: list[Any]) -> None:
    layers = [layer(f"l{i}", data) for i, data in enumerate(stack)]
    merged, origins = eager_merge(layers)
    assert merge_data(layers) == merged
    assert layer_origins(layers, merged) == origins


def test_lazy_origins_fill_on_first_read_and_pickle_as_a_dict() -> None:
    calls: list[str] = []
    a, b = Origin("a.yaml", 1, 1, "endpoint"), Origin("b.jsonnet", 2, 3, "patch")

    def compute() -> dict[FieldPath, Origin]:
        calls.append("layers")
        return {("x",): a, ("y",): a}

    origins = LazyOrigins(compute)
    origins.defer(lambda: {("y",): b})
    assert calls == []
    assert origins[("y",)] == b  # deferred entries come after, overriding
    assert calls == ["layers"]
    assert dict(origins) == {("x",): a, ("y",): b}
    assert len(origins) == 2 and ("x",) in origins and list(origins) == [("x",), ("y",)]
    origins.defer(lambda: {("z",): a})  # once filled, entries are added at once
    assert origins.get(("z",)) == a
    assert calls == ["layers"]
    copied = pickle.loads(pickle.dumps(origins))
    assert type(copied) is dict and copied == origins


def test_a_resolved_endpoint_locates_its_values_in_every_layer(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    environment, source = load_environment(root, root / "environments" / "dev.jsonnet")
    text = (root / "endpoints" / "fraud-scorer.yaml").read_text()
    loaded = load_yaml(text, "endpoints/fraud-scorer.yaml")
    manager = build_plugin_manager(root=tmp_path)
    endpoint = resolve_endpoint(loaded, environment, source, manager)
    assert isinstance(endpoint.origins, LazyOrigins)
    layers = {path: o.layer for path, o in endpoint.origins.items()}
    assert layers[("name",)] == "endpoint"
    assert layers[("scaling", "concurrency", "min")] == "patch"
    assert layers[("scaling", "concurrency", "max")] == "override"
    assert layers[("served", 0, "compute", "cpu")] == "workload"
    assert layers[("served", 0, "runtime")] == "runtime"
    assert endpoint.locate(("scaling", "concurrency", "max")).format() == (
        "environments/dev.jsonnet:16:49 (override)"
    )
    assert endpoint.locate(("name",)).format() == "endpoints/fraud-scorer.yaml:3:7 (endpoint)"


def test_environments_adding_nothing_share_one_validation(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    dev, dev_source = load_environment(root, root / "environments" / "dev.jsonnet")
    prod, prod_source = load_environment(root, root / "environments" / "prod.jsonnet")
    manager = build_plugin_manager(root=tmp_path)
    text = (root / "endpoints" / "churn-classifier.yaml").read_text()
    loaded = load_yaml(text, "endpoints/churn-classifier.yaml")
    in_prod = resolve_endpoint(loaded, prod, prod_source, manager)
    again = resolve_endpoint(loaded, prod, prod_source, manager)
    in_dev = resolve_endpoint(loaded, dev, dev_source, manager)
    assert again.spec is in_prod.spec  # the same merge: validated once
    assert in_dev.spec is not in_prod.spec  # dev's patch changes the merge
    assert in_dev.spec.scaling.concurrency.min == 0
    assert len(loaded.specs) == 2
