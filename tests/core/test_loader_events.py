"""The one-pass loader (built from PyYAML's event stream) against a reference that composes the
node tree first and walks it: same data, same position of every value and key, on random YAML."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compiler.errors import InputError
from compiler.loader import LoadedYaml, load_yaml

Positions = dict[tuple[Any, ...], tuple[int, int]]


def reference(text: str) -> tuple[Any, Positions, Positions] | None:
    """Data and positions by composing with PyYAML and walking the tree; None when PyYAML
    refuses the text or it holds what the loader refuses anyway (tags, merge keys, non-string
    keys, duplicate keys, several documents)."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, RecursionError):
        return None
    if len(nodes) != 1:
        return None
    values: Positions = {}
    keys: Positions = {}
    constructor = SafeConstructor()

    def walk(node: Node, path: tuple[Any, ...], depth: int) -> Any:
        if depth > 30:
            raise ValueError("recursive")
        values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node)
                if not isinstance(key, str) or key in result or key_node.value == "<<":
                    raise ValueError("refused key")
                keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = walk(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, SequenceNode):
            return [walk(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return constructor.construct_object(node)

    try:
        data = walk(nodes[0], (), 0)
    except Exception:  # anything the reference cannot take is out of scope
        return None
    return data, values, keys


yaml_ish = st.text(alphabet=st.sampled_from(list("ab:-[]{},&*'\"\n #?|>01.~")), max_size=120)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 10**6), st.text(max_size=8), st.floats(-1e6, 1e6)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


def same(text: str) -> None:
    expected = reference(text)
    if expected is None:
        return
    try:
        loaded = load_yaml(text, "e.yaml")
    except InputError as error:
        # only what the reference does not look at: anchors used as keys of mappings, bombs
        assert any("alias" in d.message or "anchor" in d.message for d in error.diagnostics), (
            error.diagnostics
        )
        return
    data, values, keys = expected
    assert (loaded.data, loaded.values, loaded.keys) == (data, values, keys)


@settings(max_examples=500)
@given(yaml_ish)
def test_random_text_loads_as_the_composer_reads_it(text: str) -> None:
    same(text)


@settings(max_examples=300)
@given(documents, st.sampled_from([None, True, False]))
def test_dumped_documents_load_as_the_composer_reads_them(data: Any, flow: bool | None) -> None:
    same(yaml.safe_dump(data, default_flow_style=flow, sort_keys=False))


ALIASES = """\
base: &base
  cpu: "1"
  memory: &mem 1Gi
  gpu: {count: 1}
served:
  - compute: *base
  - compute: {cpu: "2", memory: *mem}
lists: &l [a, [b, c]]
again: *l
"""


def test_aliases_copy_the_anchor_data_and_positions() -> None:
    loaded = load_yaml(ALIASES, "e.yaml")
    assert loaded == LoadedYaml("e.yaml", *reference(ALIASES))  # type: ignore[misc]
    compute = loaded.data["served"][0]["compute"]
    assert compute == {"cpu": "1", "memory": "1Gi", "gpu": {"count": 1}}
    assert compute is not loaded.data["base"]  # a copy: no shared mutable data
    assert loaded.values[("served", 0, "compute", "gpu", "count")] == (4, 16)
    assert loaded.keys[("served", 0, "compute")] == (6, 5)  # the alias's own key
    assert loaded.keys[("served", 0, "compute", "memory")] == (3, 3)
    assert loaded.values[("again", 1, 0)] == (8, 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: &x [*x]\n",
            "e.yaml:1:8: error: the alias `*x` is inside its own anchor (a recursive structure); "
            "write the spec out",
        ),
        (
            "a: *y\n",
            "e.yaml:1:4: error: invalid YAML: the alias `*y` names no anchor defined before it",
        ),
        (
            "a: &x 1\nb: &x 2\n",
            "e.yaml:2:4: error: invalid YAML: the anchor `&x` is defined twice (first at line 1); "
            "rename one",
        ),
        # a syntax error anywhere wins over a refusal earlier in the file, as before
        ("a: 1\na: 2\nb: [\n", "e.yaml:4:1: error: invalid YAML: did not find expected node"),
        # a second document wins over a refusal in the first
        ("a: 1\na: 2\n---\nb: 1\n", "e.yaml:4:1: error: one endpoint per file"),
        ("? [a]\n: 1\n", "e.yaml:1:3: error: a mapping key must be a plain string"),
        ("a: !!timestamp x\n", "e.yaml:1:4: error: cannot read"),
        ("1.5: a\n", "e.yaml:1:1: error: the key `1.5` must be a string; quote it"),
        ("!!merge <<: {a: 1}\n", "e.yaml:1:1: error: YAML merge keys (<<) are not supported"),
        ("a: !custom {b: 1}\n", "e.yaml:1:4: error: the tag `!custom` is not allowed"),
    ],
)
def test_refusals_are_positioned(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        load_yaml(text, "e.yaml")
    assert caught.value.diagnostics[0].format().startswith(expected), caught.value.diagnostics


def test_explicit_tags_and_plain_scalars() -> None:
    loaded = load_yaml("a: !!str 5\nb: '5'\nc: 5\nd: ! 5\ne: 2001-12-14\nf: ~\n", "e.yaml")
    assert loaded.data == {
        "a": "5",
        "b": "5",
        "c": 5,
        "d": 5,  # PyYAML resolves a non-specific `!` tag like no tag at all
        "e": yaml.safe_load("2001-12-14"),
        "f": None,
    }
