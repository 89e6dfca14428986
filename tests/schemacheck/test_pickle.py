"""A checker crosses process boundaries as its settings and rebuilds from the disk cache."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from compiler.schemacheck import CRD_SCHEMA_DIR, SchemaChecker, SchemaProblem

from .objects import KINDS, valid


def _check_all(checker: SchemaChecker, objects: list[dict[str, Any]]) -> list[list[SchemaProblem]]:
    return [checker.check(obj) for obj in objects]


def _objects() -> list[dict[str, Any]]:
    objects = [valid(kind) for kind in KINDS]
    broken = valid("Deployment")
    broken["spec"]["replica"] = 1
    return [*objects, broken, {"apiVersion": "example.com/v1", "kind": "Widget"}]


def test_pickling_sends_settings_only(tmp_path: Path) -> None:
    checker = SchemaChecker("1.32", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=tmp_path)
    expected = _check_all(checker, _objects())
    data = pickle.dumps(checker)
    assert len(data) < 1000  # no compiled code travels
    copy = pickle.loads(data)
    assert (copy.kubernetes_version, copy.extra_schema_dirs, copy.cache_dir) == (
        "1.32",
        (CRD_SCHEMA_DIR,),
        tmp_path,
    )
    assert _check_all(copy, _objects()) == expected


def test_a_worker_process_gives_the_same_answers(tmp_path: Path) -> None:
    checker = SchemaChecker("1.33", extra_schema_dirs=[CRD_SCHEMA_DIR], cache_dir=tmp_path)
    expected = _check_all(checker, _objects())
    assert expected[-2] == [
        SchemaProblem("spec.replica", "unknown field; did you mean `replicas`?", "Kubernetes 1.33")
    ]
    # spawn: a fresh interpreter, so nothing is inherited but what pickling carries.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(_check_all, checker, _objects()).result(timeout=120) == expected
