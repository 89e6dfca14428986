"""The fast YAML writer gives exactly PyYAML's bytes, for any tree of plain data."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.pipeline import compile_repository
from compiler.yamlout import YamlWriter, pyyaml_dump

text = st.text(
    alphabet=st.sampled_from([*list("ab yes:#-'\"\n\t{}[]&*!|>%@`,?~0.1eE+"), "é", "\u2028"]),
    max_size=30,
) | st.text(max_size=300)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.sampled_from(["on", "off", "null", "~", "1.0", "0x1F", "2026-01-01", "- a", "a: b", ""]),
)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(text, trees, min_size=1, max_size=5))
def test_same_bytes_as_pyyaml(data: dict[str, Any]) -> None:
    assert YamlWriter().dump(data) == pyyaml_dump(data)


def test_same_bytes_on_every_rendered_example(repo: Any) -> None:
    result = compile_repository(repo)
    writer = YamlWriter()
    for manifests in result.manifests.values():
        for manifest in manifests:
            assert writer.dump(manifest.body) == pyyaml_dump(manifest.body), manifest.path("x")
            assert yaml.safe_load(writer.dump(manifest.body)) == manifest.body
