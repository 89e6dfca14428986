"""Loading endpoint YAML: positions, and a clear error for every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import InputError
from compiler.loader import MAX_FILE_BYTES, load_yaml, load_yaml_file


def errors_of(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_yaml(text, "endpoints/x.yaml")
    return [d.format() for d in caught.value.diagnostics]


def test_positions_of_values_and_keys() -> None:
    loaded = load_yaml("name: a\nscaling:\n  concurrency: {min: 0, max: 40}\n", "e.yaml")
    assert loaded.data == {"name": "a", "scaling": {"concurrency": {"min": 0, "max": 40}}}
    assert loaded.values[("name",)] == (1, 7)
    assert loaded.values[("scaling", "concurrency", "max")] == (3, 30)
    assert loaded.keys[("scaling", "concurrency")] == (3, 3)
    assert loaded.position(("scaling", "concurrency", "nope")) == (3, 16)


def test_duplicate_key_names_both_lines() -> None:
    assert errors_of("name: a\nowner: x\nowner: y\n") == [
        "endpoints/x.yaml:3:1: error: duplicate key `owner` (first set at line 2); keep one"
    ]


def test_tab_indentation() -> None:
    assert errors_of("name: a\nscaling:\n\tconcurrency: 1\n") == [
        "endpoints/x.yaml:3:1: error: invalid YAML: a tab character cannot indent YAML; "
        "indent with spaces"
    ]


def test_alias_bomb_is_cut_short() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    found = errors_of("\n".join(lines) + "\n")
    assert len(found) == 1
    assert "expands to more than 20000 values (an alias bomb?)" in found[0]


def test_empty_file() -> None:
    assert errors_of("") == [
        "endpoints/x.yaml:1:1: error: file is empty; an endpoint needs at least name, owner, "
        "served and scaling"
    ]
    assert errors_of("# only a comment\n") == errors_of("")


def test_two_documents() -> None:
    assert errors_of("name: a\n---\nname: b\n") == [
        "endpoints/x.yaml:3:1: error: one endpoint per file: remove the second YAML document"
    ]


def test_unsafe_tag_is_refused() -> None:
    assert errors_of("name: !!python/object/apply:os.system ['echo hi']\n") == [
        "endpoints/x.yaml:1:7: error: the tag `tag:yaml.org,2002:python/object/apply:os.system` "
        "is not allowed; write plain YAML"
    ]
    assert errors_of("name: !!python/name:os.system x\n")[0].startswith(
        "endpoints/x.yaml:1:7: error: cannot read this value:"
    )


def test_merge_keys_are_refused() -> None:
    found = errors_of("base: &b {cpu: 1}\ncompute:\n  <<: *b\n")
    assert found == [
        "endpoints/x.yaml:3:3: error: YAML merge keys (<<) are not supported; write the keys out"
    ]


def test_non_string_key() -> None:
    assert errors_of("1: a\n") == [
        "endpoints/x.yaml:1:1: error: the key `1` must be a string; quote it"
    ]


def test_unclosed_flow_mapping() -> None:
    found = errors_of("scaling: {min: 1\n")
    assert len(found) == 1 and found[0].startswith("endpoints/x.yaml:2:1: error: invalid YAML:")


def test_big_file_is_refused_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(InputError) as caught:
        load_yaml_file(big, "endpoints/big.yaml")
    assert [d.format() for d in caught.value.diagnostics] == [
        f"endpoints/big.yaml:0:0: error: file is 50.0 MiB; specs are limited to "
        f"{MAX_FILE_BYTES // 1024} KiB — is this the right file?"
    ]


def test_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x7fELF\x00\x01\x02")
    with pytest.raises(InputError) as caught:
        load_yaml_file(binary, "endpoints/b.yaml")
    assert caught.value.diagnostics[0].format() == (
        "endpoints/b.yaml:0:0: error: binary file (contains NUL bytes); expected YAML text"
    )


def test_latin1_file(tmp_path: Path) -> None:
    latin = tmp_path / "l.yaml"
    latin.write_bytes("owner: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load_yaml_file(latin, "endpoints/l.yaml")
    assert caught.value.diagnostics[0].format() == (
        "endpoints/l.yaml:0:0: error: not UTF-8 text (byte 10); save the file as UTF-8"
    )


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffname: a\n".encode())
    assert load_yaml_file(bom, "endpoints/bom.yaml").data == {"name": "a"}
