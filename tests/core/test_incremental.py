"""Incremental compile: after any change, rendered/ is byte for byte what a full compile makes.

Every test compares against a full compile of a copy of the repository that has no cache
(`--no-cache` in a fresh directory), so a stale cache entry shows up as a difference.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import hookimpl
from compiler import writer as journal
from compiler.cache import cache_dir, environment_fingerprint, load_cache
from compiler.cli import main
from compiler.environments import EnvironmentSource, evaluate
from compiler.incremental import plan
from compiler.plugins import build_plugin_manager
from compiler.sources import load
from compiler.writer import read_tree

from .test_plugins import EXAMPLE_PLUGIN

AGAIN = re.compile(r"\((\d+) endpoint-environment pairs compiled again")
INPUTS = ("endpoints", "environments", "knobless.toml", "knobless_cost_center.py")


def compile_repo(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Compile in this process; the summary line it printed."""
    capsys.readouterr()
    assert main(["compile", "--root", str(repo), *args]) == 0
    return capsys.readouterr().err.strip().splitlines()[-1]


def compiled_again(summary: str) -> int | None:
    """Pairs compiled by the incremental path, None when it was a full compile."""
    match = AGAIN.search(summary)
    return int(match.group(1)) if match else None


def full_compile(repo: Path, scratch: Path) -> dict[str, bytes]:
    """What a full compile of the same inputs writes, in a fresh copy without a cache."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    for name in INPUTS:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, scratch / name)
        elif source.exists():
            shutil.copy(source, scratch / name)
    subprocess.run(
        [sys.executable, "-m", "compiler", "compile", "--no-cache", "--root", str(scratch)],
        check=True,
        capture_output=True,
    )
    return read_tree(scratch / "rendered")


def leftovers(repo: Path) -> list[str]:
    return sorted(p.name for p in repo.iterdir() if p.name.startswith(".rendered"))


def test_one_edit_compiles_that_endpoint_only(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compiled_again(compile_repo(repo, capsys)) is None  # first compile: no cache yet
    assert compiled_again(compile_repo(repo, capsys)) == 0
    assert sorted(p.name for p in cache_dir(repo).iterdir()) == [
        "dev.json",
        "endpoints.json",
        "environments.json",
        "prod.json",
    ]
    edited = repo / "endpoints" / "doc-embedder.yaml"
    edited.write_text(edited.read_text().replace("max: 800", "max: 960"))
    summary = compile_repo(repo, capsys)
    assert compiled_again(summary) == 2  # doc-embedder in dev and in prod
    assert "2 changed, 0 added, 0 removed" in summary  # its ScaledObject in each environment
    assert read_tree(repo / "rendered") == full_compile(repo, tmp_path / "full")
    assert leftovers(repo) == []


def test_environment_wide_rules_see_every_change(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The environment-wide stage is replayed from the cache while what it reads is unchanged,
    and runs again as soon as an endpoint's summary (here: its workload) changes."""
    tiny = "\n    'cpu-tiny': { cpu: '250m', memory: '256Mi' },"
    dev = repo / "environments" / "dev.jsonnet"
    dev.write_text(dev.read_text().replace("workloads+: {", "workloads+: {" + tiny))
    prod = repo / "environments" / "prod.jsonnet"
    prod.write_text(
        prod.read_text().replace(
            "  overrides: {", "  workloads+: {" + tiny + "\n  },\n  overrides: {"
        )
    )

    def compile_with_warnings() -> tuple[str, str]:
        capsys.readouterr()
        assert main(["compile", "--root", str(repo)]) == 0
        err = capsys.readouterr().err
        return err, err.strip().splitlines()[-1]

    unused = "uses workload `cpu-tiny`"
    err, summary = compile_with_warnings()
    assert err.count(unused) == 2 and compiled_again(summary) is None  # dev and prod
    doc = repo / "endpoints" / "doc-embedder.yaml"
    doc.write_text(doc.read_text() + "# reviewed\n")
    err, summary = compile_with_warnings()
    assert err.count(unused) == 2 and compiled_again(summary) == 2  # replayed with the stage
    churn = repo / "endpoints" / "churn-classifier.yaml"
    churn.write_text(
        churn.read_text().replace(
            'compute: {cpu: "1", memory: 1Gi}', "compute: {workload: cpu-tiny}"
        )
    )
    err, summary = compile_with_warnings()
    assert unused not in err and compiled_again(summary) == 2


def _endpoint_names(repo: Path) -> list[str]:
    return sorted(p.stem for p in (repo / "endpoints").glob("*.yaml"))


def _unreferenced(repo: Path) -> list[str]:
    """Endpoints no environment file names (removing them breaks no override)."""
    texts = "".join(p.read_text() for p in (repo / "environments").iterdir())
    return [n for n in _endpoint_names(repo) if n not in texts]


def _edit(repo: Path, rng: random.Random) -> None:
    file = repo / "endpoints" / f"{rng.choice(_endpoint_names(repo))}.yaml"
    text = file.read_text()
    if rng.random() < 0.5:
        file.write_text(text + f"# reviewed {rng.randrange(1000)}\n")  # positions only
    else:
        file.write_text(re.sub(r"owner: \S+", f"owner: team-{rng.randrange(9)}@example.com", text))


def _add(repo: Path, rng: random.Random) -> None:
    source = repo / "endpoints" / f"{rng.choice(_endpoint_names(repo))}.yaml"
    name = f"copy-{rng.randrange(10_000)}"
    text = re.sub(r"^name: .*$", f"name: {name}", source.read_text(), count=1, flags=re.M)
    (repo / "endpoints" / f"{name}.yaml").write_text(text)


def _remove(repo: Path, rng: random.Random) -> None:
    candidates = _unreferenced(repo)
    if candidates:
        (repo / "endpoints" / f"{rng.choice(candidates)}.yaml").unlink()


def _delete_rendered_file(repo: Path, rng: random.Random) -> None:
    files = sorted((repo / "rendered").rglob("*.yaml"))
    rng.choice(files).unlink()


def _stray_files(repo: Path, rng: random.Random) -> None:
    folder = rng.choice(sorted(p for p in (repo / "rendered" / "prod").iterdir() if p.is_dir()))
    (folder / "configmap-extra.yaml").write_text("kind: ConfigMap\n")
    (repo / "rendered" / "dev" / "ghost").mkdir(exist_ok=True)
    (repo / "rendered" / "dev" / "ghost" / "deployment-ghost.yaml").write_text("x: 1\n")


def _replace_like_git(repo: Path, rng: random.Random) -> None:
    """What a checkout does to a file it changes: unlink, create with other content."""
    file = rng.choice(sorted((repo / "rendered").rglob("*.yaml")))
    content = file.read_bytes()
    file.unlink()
    file.write_bytes(content.replace(b"knobless", b"someone-else", 1))


def _edit_environment(repo: Path, rng: random.Random) -> None:
    file = repo / "environments" / "prod.jsonnet"
    file.write_text(file.read_text() + f"\n// tuned on day {rng.randrange(365)}\n")


OPERATIONS = (
    _edit,
    _add,
    _remove,
    _delete_rendered_file,
    _stray_files,
    _replace_like_git,
    _edit_environment,
)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_give_what_a_full_compile_gives(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    rng = random.Random(seed)
    compile_repo(repo, capsys)
    for step in range(7):
        operation = rng.choice(OPERATIONS)
        operation(repo, rng)
        summary = compile_repo(repo, capsys)
        # the cache is used, except after an environment file changed
        assert (compiled_again(summary) is None) == (operation is _edit_environment), summary
        expected = full_compile(repo, tmp_path / "full")
        assert read_tree(repo / "rendered") == expected, f"step {step}: {operation.__name__}"
        assert leftovers(repo) == []


def test_changed_plugin_code_compiles_everything(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A subprocess per compile: the edited plugin module must be imported afresh.
    shutil.copy(EXAMPLE_PLUGIN, repo / "knobless_cost_center.py")
    (repo / "knobless.toml").write_text('plugins = ["knobless_cost_center"]\n')

    def compile_() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "compiler", "compile", "--root", str(repo)],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stderr.strip().splitlines()[-1]

    compile_()
    assert compiled_again(compile_()) == 0
    plugin = repo / "knobless_cost_center.py"
    plugin.write_text(plugin.read_text().replace('"cc-1042"', '"cc-1043"'))
    assert compiled_again(compile_()) is None  # the code changed: a full compile
    tree = read_tree(repo / "rendered")
    assert any(b"cc-1043" in content for content in tree.values())
    assert tree == full_compile(repo, tmp_path / "full")


def test_a_damaged_cache_is_no_cache(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compile_repo(repo, capsys)
    (cache_dir(repo) / "dev.json").write_bytes(b'{"version": 1, "fingerprint": ')
    assert load_cache(repo, "dev") is None
    edited = repo / "endpoints" / "doc-embedder.yaml"
    edited.write_text(edited.read_text() + "# edited\n")
    assert compiled_again(compile_repo(repo, capsys)) is None
    assert read_tree(repo / "rendered") == full_compile(repo, tmp_path / "full")
    assert load_cache(repo, "dev") is not None  # written afresh


def test_an_unchanged_environment_is_not_evaluated_again(repo: Path) -> None:
    memo: dict[str, tuple[dict[str, str], object]] = {}
    file = repo / "environments" / "prod.jsonnet"
    first = evaluate(repo, file, memo)
    assert sorted(memo) == ["environments/prod.jsonnet"]
    read = sorted(memo["environments/prod.jsonnet"][0])  # every file the evaluation read
    assert read == ["environments/base.libsonnet", "environments/prod.jsonnet"]
    memo["environments/prod.jsonnet"] = (memo["environments/prod.jsonnet"][0], {"remembered": 1})
    again = evaluate(repo, file, memo)
    assert again.data == {"remembered": 1}  # recalled, not evaluated
    assert list(again.texts) == list(first.texts)  # the file first, then what it imported
    library = repo / "environments" / "base.libsonnet"
    library.write_text(library.read_text() + "\n")  # an import changed: evaluate again
    assert evaluate(repo, file, memo).data == first.data


def test_options_and_sources_are_in_the_fingerprint() -> None:
    source = EnvironmentSource("environments/dev.jsonnet", {"name": "dev"}, {"a": "x"})
    base = environment_fingerprint("code", b"", source, "dev", False)
    assert environment_fingerprint("code", b"", source, "dev", True) != base
    assert environment_fingerprint("code2", b"", source, "dev", False) != base
    assert environment_fingerprint("code", b"block = []", source, "dev", False) != base
    moved = EnvironmentSource("environments/dev.jsonnet", {"name": "dev"}, {"a": "\nx"})
    assert environment_fingerprint("code", b"", moved, "dev", False) != base  # positions
    assert environment_fingerprint("code", b"", source, "dev", False) == base


def test_a_plugin_that_is_not_a_module_turns_the_cache_off(repo: Path) -> None:
    class Acme:
        """A plugin object: its code cannot be fingerprinted."""

        @hookimpl
        def knobless_postprocess(self) -> None:
            return None

    plugin = Acme()
    manager = build_plugin_manager(root=repo, entry_points=False, extra=[("acme.x", plugin)])
    assert plan(repo, manager, load(repo, None), strict=False) is None


def test_a_failed_write_leaves_rendered_as_it_was(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compile_repo(repo, capsys)
    before = read_tree(repo / "rendered")
    edited = repo / "endpoints" / "triage-agent.yaml"
    edited.write_text(edited.read_text().replace("owner: ", "owner: x", 1))
    replace = os.replace
    calls = []

    def failing_replace(source: object, target: object) -> None:
        calls.append(target)
        if len(calls) == 3:  # two files of the change already in place
            raise OSError(28, "No space left on device")
        replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(journal.os, "replace", failing_replace)
    assert main(["compile", "--root", str(repo)]) == 70
    monkeypatch.undo()
    assert read_tree(repo / "rendered") == before
    assert leftovers(repo) == []
    assert compiled_again(compile_repo(repo, capsys)) == 2  # the cache was not advanced


KILLED_WRITER = """
import os, sys
from pathlib import Path
from compiler import hookimpl
from compiler import writer as journal
root = Path(sys.argv[1])
replace, calls = os.replace, []
def replace_then_die(source, target):
    replace(source, target)
    calls.append(target)
    if len(calls) == 2:
        os._exit(9)  # SIGKILL-like: no cleanup, no finally
journal.os.replace = replace_then_die
with journal.Journal(root) as change:
    for path in sorted((root / "rendered" / "prod").rglob("*.yaml"))[:5]:
        change.put(path.relative_to(root / "rendered").as_posix(), b"new\\n")
    change.put("prod/brand-new/deployment-x.yaml", b"new\\n")
    change.delete("dev/fraud-scorer")
    change.commit()
"""


def test_a_killed_write_is_rolled_back_by_the_next_run(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compile_repo(repo, capsys)
    before = read_tree(repo / "rendered")
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(repo)], check=False)
    assert done.returncode == 9
    assert read_tree(repo / "rendered") != before  # half applied: a folder gone, files new
    assert [p.name for p in repo.glob(journal.JOURNAL_PREFIX + "*")]  # the armed journal
    journal.recover(repo)
    assert read_tree(repo / "rendered") == before
    assert not list(repo.glob(journal.JOURNAL_PREFIX + "*"))
    assert compiled_again(compile_repo(repo, capsys)) == 0


def test_an_edit_in_place_is_caught_by_check_not_by_compile(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented limit: `compile` trusts folders whose modification time is unchanged, so
    a rendered file overwritten in place stays; `--check` (CI) reads every file and fails, and
    `--no-cache` puts it right."""
    compile_repo(repo, capsys)
    target = repo / "rendered" / "prod" / "fraud-scorer" / "service-fraud-scorer-v7.yaml"
    original = target.read_bytes()
    with open(target, "r+b") as file:  # in place: the folder's mtime does not move
        file.write(b"X")
    compile_repo(repo, capsys)
    assert target.read_bytes() != original
    capsys.readouterr()
    assert main(["compile", "--check", "--root", str(repo)]) == 1
    assert (
        "changed: rendered/prod/fraud-scorer/service-fraud-scorer-v7.yaml"
        in capsys.readouterr().err
    )
    compile_repo(repo, capsys, "--no-cache")
    assert target.read_bytes() == original


def test_the_cache_stays_out_of_git(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    compile_repo(repo, capsys)
    untracked = {line[3:].split("/")[0] for line in git("status", "--porcelain").splitlines()}
    assert untracked == {"endpoints", "environments", "rendered"}
