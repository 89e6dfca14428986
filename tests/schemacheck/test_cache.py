"""The on-disk cache of compiled validators: used when sound, regenerated on any doubt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from compiler.schemacheck import SchemaChecker, SchemaProblem, compiled, default_cache_dir

from .objects import valid

BAD = valid("Service")
BAD["spec"]["ports"][0]["port"] = "80"
BAD_PROBLEMS = [
    SchemaProblem("spec.ports[0].port", 'expected integer, got string "80"', "Kubernetes 1.33")
]


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the (real) code generator."""
    calls: list[int] = []
    real: Callable[[dict[str, Any]], str] = compiled.generate_source

    def counting(schema: dict[str, Any]) -> str:
        calls.append(1)
        return real(schema)

    monkeypatch.setattr(compiled, "generate_source", counting)
    return calls


def _check_service(cache: Path) -> None:
    checker = SchemaChecker("1.33", cache_dir=cache)
    assert checker.check(valid("Service")) == []
    assert checker.check(BAD) == BAD_PROBLEMS


def _only_entry(cache: Path) -> Path:
    (entry,) = cache.glob("*.bin")
    return entry


def test_a_miss_generates_and_stores_a_hit_does_not_generate(
    tmp_path: Path, generated: list[int]
) -> None:
    _check_service(tmp_path)
    entry = _only_entry(tmp_path)
    magic, key, checksum, _ = entry.read_bytes().split(b"\n", 3)
    assert (magic, key.decode(), len(checksum)) == (b"knobless-validator 1", entry.stem, 64)
    assert len(generated) == 1
    _check_service(tmp_path)
    assert len(generated) == 1


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "flipped payload byte": lambda data: data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
    "other key in header": lambda data: data.replace(data.split(b"\n")[1], b"0" * 64, 1),
    "garbage": lambda data: b"\x00\xff" * 500,
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupt_entry_is_regenerated(
    tmp_path: Path, generated: list[int], corrupt: Callable[[bytes], bytes]
) -> None:
    _check_service(tmp_path)
    entry = _only_entry(tmp_path)
    good = entry.read_bytes()
    entry.write_bytes(corrupt(good))
    _check_service(tmp_path)
    assert len(generated) == 2
    assert entry.read_bytes() == good  # rewritten, deterministically


def test_a_sound_entry_holding_no_code_is_regenerated(tmp_path: Path, generated: list[int]) -> None:
    _check_service(tmp_path)
    entry = _only_entry(tmp_path)
    good = entry.read_bytes()
    import hashlib
    import marshal

    payload = marshal.dumps(42)
    entry.write_bytes(
        b"\n".join(
            [
                b"knobless-validator 1",
                entry.stem.encode(),
                hashlib.sha256(payload).hexdigest().encode(),
                payload,
            ]
        )
    )
    _check_service(tmp_path)
    assert (len(generated), entry.read_bytes()) == (2, good)


def test_an_unusable_cache_directory_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    _check_service(blocker / "validators")
    assert blocker.read_text() == "not a directory"


def test_the_key_covers_the_generator_and_fastjsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    before = compiled.generator_identity()
    monkeypatch.setattr(fastjsonschema, "VERSION", "0.0.0")
    assert compiled.generator_identity() != before
    assert compiled.cache_key(before, ["a"]) != compiled.cache_key(before, ["b"])


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "knobless" / "validators"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "knobless" / "validators"
