"""Facts of a compiled repository: from in-memory manifests and from rendered files alike."""

from __future__ import annotations

from pathlib import Path

from compiler.pipeline import compile_repository
from compiler.review.summary import side_from_result


def test_facts_from_manifests_equal_facts_from_files(repo: Path) -> None:
    result = compile_repository(repo)
    from_manifests = side_from_result(result.files, result.endpoints, result.manifests)
    from_files = side_from_result(result.files, result.endpoints)
    assert from_manifests.endpoints == from_files.endpoints
    llm = from_files.endpoints["prod"]["support-llm"]
    assert [(s.name, s.gpus, s.replicas_from) for s in llm.served] == [
        ("ft-2026-11", 8, "scaledobject")
    ]
    # 512 in-flight requests at perReplica.min 8: 64 replicas of 8 GPUs and 96 cores each.
    assert (llm.worst_case.gpus, llm.worst_case.cpu) == (512, 6144)


def test_estimate_without_a_scaled_object(repo: Path) -> None:
    result = compile_repository(repo, environments=["prod"])
    files = {k: v for k, v in result.files.items() if "/scaledobject-" not in k}
    side = side_from_result(files, result.endpoints)
    llm = side.endpoints["prod"]["support-llm"]
    assert [(s.max_replicas, s.replicas_from) for s in llm.served] == [(64, "estimate")]
