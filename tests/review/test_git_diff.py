"""`knobless diff` end to end against real git repositories built in tmp dirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import main
from tests.review.gitrepo import commit, edit, git, new_repository


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary_lines(text: str) -> list[str]:
    """The summary part of the text output (up to `Details`)."""
    return text.split("\nDetails\n", 1)[0].splitlines()[2:]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repository(tmp_path / "repo")


def test_several_commits(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(repo, "rev-parse", "HEAD")
    edit(repo, "endpoints/feed-ranker.yaml", "{v12: 90, v13: 10}", "{v12: 80, v13: 20}")
    commit(repo, "shift traffic")
    edit(repo, "endpoints/fraud-scorer.yaml", "models:/fraud-scorer/7", "models:/fraud-scorer/8")
    commit(repo, "new model version")

    code, out, _ = run(capsys, "diff", "--base", "HEAD~1", "--root", str(repo), "--env", "prod")
    assert code == 0
    assert summary_lines(out) == [
        "prod: 1 endpoint changes · worst case at max concurrency: GPUs 712, CPU 28184 cores",
        "  ~ fraud-scorer: pods restart (v7) · concurrency 64..10000",
    ]
    assert (
        "      spec.template.spec.containers[0].env[4].value: models:/fraud-scorer/7 -> "
        "models:/fraud-scorer/8\n" in out
    )

    code, out, _ = run(capsys, "diff", "--base", first, "--root", str(repo), "--env", "prod")
    assert code == 0
    assert summary_lines(out) == [
        # v13's share doubles; v12's ceiling stays at capacity.maxReplicas (1,000) either way
        "prod: 2 endpoints change · worst case at max concurrency: GPUs 712, CPU 24984 -> 28184 "
        "cores",
        "  ~ feed-ranker: no pod restarts · traffic v12 90% -> 80%, v13 10% -> 20% · "
        "concurrency 32..4000 · worst case GPUs 0, CPU 11200 -> 14400 cores",
        "  ~ fraud-scorer: pods restart (v7) · concurrency 64..10000",
    ]
    # Routing and scaling changes never touch a pod template.
    assert "  ~ HTTPRoute feed-ranker\n" in out
    assert "Deployment feed-ranker" not in out

    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--root", str(repo))
    assert (code, summary_lines(out)) == (0, ["No changes: the rendered output is identical."])


def test_uncommitted_edits_are_compared_and_the_working_tree_is_untouched(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, "endpoints/support-llm.yaml", "{min: 16, max: 512}", "{min: 16, max: 256}")
    status = git(repo, "status", "--porcelain")
    code, out, _ = run(capsys, "diff", "--base", "main", "--root", str(repo), "--env", "prod")
    assert code == 0
    assert (
        "  ~ support-llm: no pod restarts · concurrency 16..512 -> 16..256 · GPUs/replica "
        "ft-2026-11 8 nvidia-h100 · worst case GPUs 512 -> 256, CPU 6144 -> 3072 cores"
    ) in out
    assert git(repo, "status", "--porcelain") == status
    assert git(repo, "worktree", "list").count("\n") == 0
    assert not (repo / "rendered").exists()


def test_renamed_endpoint(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "mv", "endpoints/churn-classifier.yaml", "endpoints/churn-model.yaml")
    edit(repo, "endpoints/churn-model.yaml", "name: churn-classifier", "name: churn-model")
    commit(repo, "rename")
    code, out, _ = run(capsys, "diff", "--base", "HEAD~1", "--root", str(repo), "--env", "dev")
    assert code == 0
    assert summary_lines(out) == [
        "dev: 2 endpoints change · worst case at max concurrency: GPUs 200, CPU 3240 cores",
        "  - churn-classifier: removed (renamed to churn-model) · traffic v3 100% · concurrency "
        "was 0..40 · worst case GPUs was 0, CPU was 40 cores",
        "  + churn-model: new (renamed from churn-classifier) · traffic v3 100% · concurrency "
        "0..40 · worst case GPUs 0, CPU 40 cores",
        "  ~ platform: 2 object(s)",  # the Argo CD Applications of the two names
    ]
    assert "dev/churn-model\n  + Deployment churn-model-v3\n" in out.replace(
        "  + ConfigMap churn-model-otel\n", ""
    )


def test_environment_change_touches_every_endpoint(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        repo,
        "environments/prod.jsonnet",
        "overrides: {",
        "runtimes+: { otelCollector: 'otel/opentelemetry-collector-contrib:0.140.0' },\n"
        "  overrides: {",
    )
    commit(repo, "bump the sidecar in prod")
    code, out, _ = run(capsys, "diff", "--base", "HEAD~1", "--root", str(repo), "--format", "json")
    assert code == 0
    data = json.loads(out)
    statuses = {env["name"]: env["status"] for env in data["environments"]}
    assert statuses == {"dev": "unchanged", "prod": "changed"}
    [prod] = [env for env in data["environments"] if env["name"] == "prod"]
    restarts = {e["name"]: e["pods_restart"] for e in prod["endpoints"]}
    assert restarts == {
        "churn-classifier": ["v3"],
        "doc-embedder": ["v2"],
        "feed-ranker": ["v12", "v13"],
        "fraud-scorer": ["v7"],
        "support-llm": ["ft-2026-11"],
        "triage-agent": ["main"],
    }
    sidecar = [
        change
        for endpoint in prod["endpoints"]
        for obj in endpoint["objects"]
        for change in obj["changes"]
        if change["path"].startswith("spec.template.") and change["path"].endswith(".image")
    ]
    assert len(sidecar) == 7
    assert {(c["before"], c["after"]) for c in sidecar} == {
        (
            "otel/opentelemetry-collector-contrib:0.139.0",
            "otel/opentelemetry-collector-contrib:0.140.0",
        )
    }


def test_unknown_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diff", "--base", "no-such-branch", "--root", str(repo))
    assert (code, out) == (2, "")
    assert err == (
        "knobless: error: unknown git revision `no-such-branch`: check the name with "
        "`git log --oneline -1 REV`, or fetch it (`git fetch origin BRANCH`)\n"
    )


def test_revision_that_looks_like_an_option(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "diff", "--base=--output=/tmp/x", "--root", str(repo))
    assert code == 2
    assert err == "knobless: error: `--output=/tmp/x` is not a git revision\n"


def test_not_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "diff", "--base", "main", "--root", str(tmp_path))
    assert code == 2
    assert err == (
        f"knobless: error: {tmp_path} is not inside a git working tree; `knobless diff` compares "
        "against a git revision (run it in a clone of the repository, or pass --root)\n"
    )


def test_base_that_does_not_compile(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "endpoints/fraud-scorer.yaml", "flavor: xgboost", "flavor: xgbost")
    broken = commit(repo, "broken")
    edit(repo, "endpoints/fraud-scorer.yaml", "flavor: xgbost", "flavor: xgboost")
    commit(repo, "fixed")
    code, out, err = run(capsys, "diff", "--base", "HEAD~1", "--root", str(repo))
    assert (code, out) == (1, "")
    assert err.startswith(
        f"knobless: error: the base revision `HEAD~1` ({broken[:12]}) does not compile with this "
        "version of knobless, so there is nothing to compare against:\n"
        "  endpoints/fraud-scorer.yaml:8:13: error: "
    )
    assert err.endswith("fix the base branch first, or compare against another revision\n")


def test_base_without_environments_is_all_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("adopting knobless\n", encoding="utf-8")
    git(repo, "init", "-q")
    commit(repo, "before knobless")
    fresh = new_repository(tmp_path / "fresh")
    for folder in ("endpoints", "environments"):
        (fresh / folder).rename(repo / folder)
    code, out, _ = run(capsys, "diff", "--base", "HEAD", "--root", str(repo), "--env", "dev")
    assert code == 0
    assert summary_lines(out)[0] == (
        "dev (added): 5 endpoints change · worst case at max concurrency: GPUs 200, CPU 3240 cores"
    )


def test_root_in_a_subdirectory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    top = tmp_path / "mono"
    new_repository(top / "serving")
    (top / "serving" / ".git").rename(top / ".git")
    git(top, "add", "-A")
    commit(top, "move into a monorepo folder")
    edit(top, "serving/endpoints/triage-agent.yaml", "triage-agent:1.8.2", "triage-agent:1.9.0")
    code, out, _ = run(
        capsys, "diff", "--base", "HEAD", "--root", str(top / "serving"), "--env", "dev"
    )
    assert code == 0
    assert "  ~ triage-agent: pods restart (main) · concurrency 0..1000\n" in out
    code, _, err = run(capsys, "diff", "--base", "HEAD~1", "--root", str(top / "serving"))
    assert code == 2
    assert err == "knobless: error: `serving` (the --root folder) does not exist at `HEAD~1`\n"


def test_shallow_clone_after_fetching_the_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin = new_repository(tmp_path / "origin")
    git(origin, "checkout", "-q", "-b", "feature")
    edit(origin, "endpoints/doc-embedder.yaml", "{min: 4, max: 800}", "{min: 8, max: 800}")
    commit(origin, "raise the floor")
    clone = tmp_path / "clone"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--branch",
        "feature",
        f"file://{origin}",
        str(clone),
    )
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"

    code, _, err = run(capsys, "diff", "--base", "origin/main", "--root", str(clone))
    assert code == 2
    assert err == (
        "knobless: error: unknown git revision `origin/main`: this is a shallow clone: fetch the "
        "base first, e.g. `git fetch --depth=1 origin main` (or check out with fetch-depth: 0)\n"
    )

    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    code, out, _ = run(
        capsys, "diff", "--base", "origin/main", "--root", str(clone), "--env", "prod"
    )
    assert code == 0
    assert summary_lines(out)[1] == (
        "  ~ doc-embedder: no pod restarts · concurrency 4..800 -> 8..800 · GPUs/replica v2 1 "
        "nvidia-l4"
    )


def test_markdown_through_the_cli(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "endpoints/feed-ranker.yaml", "{v12: 90, v13: 10}", "{v12: 50, v13: 50}")
    code, out, _ = run(
        capsys, "diff", "--base", "HEAD", "--root", str(repo), "--format", "markdown"
    )
    assert code == 0
    assert out.startswith("<!-- knobless-diff -->\n### knobless diff: `HEAD (")
    assert "**2 endpoint change(s) in 2 environment(s)**, pods restart in 0." in out
    assert "| prod | ~ `feed-ranker` | no pod restarts | v12 90% → 50%, v13 10% → 50% |" in out
    assert out.count("<details>") == out.count("</details>") == 2


def test_invalid_working_tree(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "endpoints/fraud-scorer.yaml", "flavor: xgboost", "flavor: xgbost")
    code, out, err = run(capsys, "diff", "--base", "HEAD", "--root", str(repo))
    assert (code, out) == (1, "")
    assert err.startswith("endpoints/fraud-scorer.yaml:8:13: error: ")


def test_lint_errors_of_the_base_do_not_stop_the_review(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The base has a mistake today's lint rules reject; the change fixes it.
    edit(repo, "environments/prod.jsonnet", "'fraud-scorer':", "'fraud-scoer':")
    commit(repo, "typo")
    edit(repo, "environments/prod.jsonnet", "'fraud-scoer':", "'fraud-scorer':")
    code, out, err = run(capsys, "diff", "--base", "HEAD", "--root", str(repo), "--env", "prod")
    assert (code, err) == (0, "")
    assert "  ~ fraud-scorer: no pod restarts · concurrency 8..2000 -> 64..10000" in out


def test_warnings_of_the_change_go_to_stderr(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, "endpoints/churn-classifier.yaml", "growth-ds@example.com", "growth-ds")
    code, out, err = run(capsys, "diff", "--base", "HEAD", "--root", str(repo), "--env", "prod")
    assert code == 0 and out.startswith("knobless diff: HEAD (")
    assert err == (
        "endpoints/churn-classifier.yaml:3:8: warning: owner: `growth-ds` is not an e-mail "
        "address; use the team's address (e.g. risk-platform@example.com) [owner-not-email]\n"
        "0 errors, 1 warning\n"
    )
