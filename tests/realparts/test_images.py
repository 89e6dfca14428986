"""Model images against a real MLflow registry: real scikit-learn and xgboost models logged into
a real `mlflow server`, `knobless images resolve` reading them over the REST API, the Dockerfile
from MLflow's own generator (run from the MLflow venv), and compile rendering the locked images.

No container engine runs here: building and pushing the image is not tested, everything up to
the Dockerfile and its build context is.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from compiler.cli import main
from compiler.images.lock import load_lock
from tests.mlflow_support import (
    MlflowRegistry,
    free_port,
    mlflow_bin,
    require_mlflow,
)

ENVIRONMENT = """{{
  name: '{name}',
  cluster: {{ name: '{name}', server: 'https://{name}.k8s.example.com' }},
  argocd: {{ repoURL: 'https://git.example.com/serving.git' }},
  prometheus: {{ url: 'http://prometheus.monitoring.svc:9090' }},
  gateway: {{ name: 'serving', namespace: 'gateway-system' }},
  mlflow: {{ trackingUri: '{registry}' }},
  images: {{ repository: 'registry.example.com/ml/model-images', strict: {strict},
             pullSecrets: ['registry-pull'] }},
}}
"""

CHURN = """name: churn
owner: growth@example.com
served:
  - name: v1
    model: models:/churn/1
    flavor: sklearn
    compute: {cpu: "1", memory: 1Gi}
  - name: v2
    model: models:/churn/2
    flavor: sklearn
    compute: {cpu: "1", memory: 1Gi}
traffic: {v1: 50, v2: 50}
scaling:
  concurrency: {min: 1, max: 10}
"""

FRAUD = """name: fraud
owner: risk@example.com
served:
  - name: v1
    model: models:/fraud/1
    flavor: xgboost
    compute: {cpu: "1", memory: 1Gi}
scaling:
  concurrency: {min: 1, max: 10}
"""


def _repo(root: Path, registry_url: str) -> Path:
    (root / "environments").mkdir(parents=True)
    (root / "endpoints").mkdir()
    for name, strict in (("dev", "false"), ("prod", "true")):
        text = ENVIRONMENT.format(name=name, registry=registry_url, strict=strict)
        (root / "environments" / f"{name}.jsonnet").write_text(text)
    (root / "endpoints" / "churn.yaml").write_text(CHURN)
    (root / "endpoints" / "fraud.yaml").write_text(FRAUD)
    return root


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo(tmp_path: Path, images_registry: MlflowRegistry) -> Path:
    return _repo(tmp_path / "repo", images_registry.url)


def _containers(root: Path, env: str, endpoint: str, served: str) -> dict[str, object]:
    path = root / "rendered" / env / endpoint / f"deployment-{endpoint}-{served}.yaml"
    pod = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]
    return pod


def test_resolve_locks_real_requirements_and_shares_images(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    first = (repo / "images.lock").read_bytes()
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    assert (repo / "images.lock").read_bytes() == first  # deterministic
    assert main(["images", "resolve", "--check", "--root", str(repo)]) == 0
    err = capsys.readouterr().err
    assert "resolved 6 served model versions in 2 environments (dev, prod) to 2 images" in err

    lock = load_lock(repo)
    prod = lock.environments["prod"].models
    churn1, churn2, fraud = (
        prod["models:/churn/1"],
        prod["models:/churn/2"],
        prod["models:/fraud/1"],
    )
    assert churn1.dependencies == churn2.dependencies  # same requirements: one image
    assert churn1.image == churn2.image
    assert churn1.image == f"registry.example.com/ml/model-images:deps-{churn1.dependencies[:16]}"
    assert fraud.dependencies != churn1.dependencies
    sklearn, xgb = lock.dependencies[churn1.dependencies], lock.dependencies[fraud.dependencies]
    assert "scikit-learn==1.9.1" in sklearn.requirements
    assert "mlflow==3.6.0" in sklearn.requirements
    assert "xgboost==3.2.0" in xgb.requirements and "xgboost==3.2.0" not in sklearn.requirements
    assert (sklearn.mlflow, sklearn.flavors, xgb.flavors) == ("3.6.0", ("sklearn",), ("xgboost",))
    # the runtime's own pins, in the digest: reviewed in the lock like the model's requirements
    pins = ("fastapi==0.163.2", "starlette==0.52.1", "uvicorn==0.55.0")
    assert sklearn.server == xgb.server == pins
    assert "\n    server:\n    - fastapi==0.163.2\n" in first.decode()
    assert sklearn.python.startswith("3.11.")
    assert lock.environments["dev"].registry == lock.environments["prod"].registry


def test_compile_renders_locked_images_byte_identically(repo: Path) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    assert main(["compile", "--no-cache", "--root", str(repo)]) == 0
    first = _tree(repo / "rendered")
    shutil.rmtree(repo / "rendered")
    assert main(["compile", "--no-cache", "--root", str(repo)]) == 0
    assert _tree(repo / "rendered") == first

    lock = load_lock(repo)
    image = lock.environments["prod"].models["models:/churn/1"].image
    pod = _containers(repo, "prod", "churn", "v1")
    model = next(c for c in pod["containers"] if c["name"] == "model")  # type: ignore[attr-defined]
    assert model["image"] == image
    # the runtime's own command still fetches this version from the registry
    assert "models:/churn/1" in json.dumps(model)
    assert pod["imagePullSecrets"] == [{"name": "registry-pull"}]
    fraud = _containers(repo, "prod", "fraud", "v1")["containers"][0]  # type: ignore[index]
    assert fraud["image"] == lock.environments["prod"].models["models:/fraud/1"].image


def test_a_pushed_digest_is_rendered_and_restarts_only_that_version(repo: Path) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    assert main(["compile", "--root", str(repo)]) == 0
    before = _tree(repo / "rendered")
    lock = load_lock(repo)
    fraud_image = lock.environments["prod"].models["models:/fraud/1"].image
    digest = "sha256:" + "ab" * 32
    with (repo / "images.lock").open("a") as out:
        out.write(f"pushed:\n  {fraud_image}: {digest}\n")
    assert main(["compile", "--root", str(repo)]) == 0  # the cache sees the lock change
    after = _tree(repo / "rendered")
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert changed == ["dev/fraud/deployment-fraud-v1.yaml", "prod/fraud/deployment-fraud-v1.yaml"]
    fraud = _containers(repo, "prod", "fraud", "v1")["containers"][0]  # type: ignore[index]
    assert fraud["image"] == f"{fraud_image}@{digest}"


def test_an_unlocked_version_is_a_located_error_in_a_strict_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    assert main(["compile", "--root", str(repo)]) == 0
    before = _tree(repo / "rendered")
    (repo / "endpoints" / "fraud.yaml").write_text(
        FRAUD.replace("models:/fraud/1", "models:/fraud/2")
    )
    capsys.readouterr()
    assert main(["compile", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert (
        "endpoints/fraud.yaml:5:12: error: served[0].model: models:/fraud/2 has no image in "
        "images.lock for environment `prod`, which requires one (images.strict): run "
        "`knobless images resolve --env prod` and commit images.lock" in err
    )
    assert _tree(repo / "rendered") == before
    assert main(["compile", "--env", "dev", "--root", str(repo)]) == 0  # not strict: a warning
    assert (
        "endpoints/fraud.yaml:5:12: warning: served[0].model: models:/fraud/2 has no image in "
        "images.lock for environment `dev`: it runs the generic image ghcr.io/mlflow/mlflow:v3.6.0; "
        "run `knobless images resolve --env dev` and commit images.lock [image-unlocked]\n"
        in capsys.readouterr().err
    )
    model = _containers(repo, "dev", "fraud", "v1")["containers"][0]  # type: ignore[index]
    assert model["image"] == "ghcr.io/mlflow/mlflow:v3.6.0"


def test_a_registry_that_is_down_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_mlflow()
    repo = _repo(tmp_path / "repo", f"http://127.0.0.1:{free_port()}")
    (repo / "images.lock").write_text("# left as it was\nversion: 1\n")
    assert main(["images", "resolve", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("knobless: error: the MLflow registry at http://127.0.0.1:")
    assert "cannot be reached (ConnectError" in err and "Nothing was written." in err
    assert "Traceback" not in err
    assert (repo / "images.lock").read_text() == "# left as it was\nversion: 1\n"


def test_dockerfile_from_mlflows_generator_pins_what_the_model_needs(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    lock = load_lock(repo)
    churn = lock.environments["prod"].models["models:/churn/1"]
    sklearn = lock.dependencies[churn.dependencies]
    out = tmp_path / "contexts"
    argv = [
        "images",
        "build",
        "--dockerfile-only",
        "--mlflow",
        str(mlflow_bin()),
        "--output",
        str(out),
    ]
    assert main([*argv, "--root", str(repo)]) == 0
    tags = {m.image.rsplit(":", 1)[1] for m in lock.environments["prod"].models.values()}
    assert sorted(p.name for p in out.iterdir()) == sorted(tags)  # one context per image
    context = out / churn.image.rsplit(":", 1)[1]
    dockerfile = (context / "Dockerfile").read_text()
    assert dockerfile.startswith("# Build an image that can serve mlflow models.\n")  # MLflow's
    assert f"FROM python:{sklearn.python}-slim" in dockerfile
    assert "RUN pip install mlflow==3.6.0" in dockerfile
    assert "COPY model_dir/deps /opt/ml/model" in dockerfile
    assert "env_manager='local'" in dockerfile
    requirements = (context / "model_dir" / "deps" / "requirements.txt").read_text().splitlines()
    assert requirements == [*sklearn.requirements, *sklearn.server]
    assert "scikit-learn==1.9.1" in requirements and "starlette==0.52.1" in requirements
    # the same dependencies give the same context, byte for byte
    again = tmp_path / "again"
    assert main([*argv[:-1], str(again), "--root", str(repo)]) == 0
    assert _tree(again / context.name) == _tree(context)


def test_build_names_what_is_missing(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["images", "resolve", "--root", str(repo)]) == 0
    monkeypatch.setenv("PATH", str(repo))  # no docker, buildah, kaniko or mlflow here
    capsys.readouterr()
    assert main(["images", "build", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "knobless: error: no container builder found (looked for docker, buildah, kaniko"
    )
    assert main(["images", "build", "--dockerfile-only", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("knobless: error: the mlflow CLI (`mlflow`) was not found")
    assert os.environ["PATH"] == str(repo)
