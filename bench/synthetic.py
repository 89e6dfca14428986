"""A synthetic repository of N endpoints in three environments, written as a user would.

Endpoint `model-<i>` takes the shape of one of five example endpoints (i % 5): a scikit-learn
classifier that scales to zero (churn-classifier), an xgboost scorer on a named workload
(fraud-scorer), an ONNX embedder on a GPU (doc-embedder), an agent in the team's own image that
calls another endpoint and logs payloads (triage-agent), a LightGBM ranker with a canary and a
schedule (feed-ranker). The environments (dev, staging, prod) are self-contained, shaped like
environments/ but naming only synthetic endpoints, and images.lock locks every MLflow model in
each of them, as `knobless images resolve` writes it: the repository compiles with no error and
no warning (tests/bench/test_synthetic.py), so the benchmarks time the work a clean repository
costs, not thousands of printed diagnostics.

The lock carries no `server` pins: a lock written before they existed, which the pre-refactor
compiler benchmarks compare against (bench/compile.py --baseline) can read too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from compiler.images.lock import (
    Dependencies,
    ImageLock,
    LockedEnvironment,
    LockedModel,
    dump_lock,
)
from compiler.images.resolve import image_tag

ENVIRONMENTS = ("dev", "prod", "staging")
SHAPES = 5
TRACKING_URI = "http://mlflow.mlflow.svc:5000"  # the environments' default mlflow.trackingUri
IMAGE_REPOSITORY = "registry.example.com/ml-platform/model-images"


def name_of(index: int) -> str:
    return f"model-{index:05d}"


CHURN = """\
# A small scikit-learn classifier on one CPU core. Idle most of the day, so it scales to zero.
name: {name}
owner: team-{team}@example.com
served:
  - name: v3
    model: models:/{name}/3
    flavor: sklearn
    compute: {{cpu: "1", memory: 1Gi}}
scaling:
  concurrency: {{min: 0, max: 40}}
lint:
  ignore:
    prod-min-zero-cold-start: "batch scoring; the job retries 503s for a minute"
"""

FRAUD = """\
# A CPU-heavy xgboost model behind checkout: a provisioned floor and a high ceiling.
name: {name}
owner: team-{team}@example.com
served:
  - name: v7
    model: models:/{name}/7
    flavor: xgboost
    compute: {{workload: cpu-medium}}
scaling:
  concurrency: {{min: 8, max: 2000}}
"""

EMBEDDER = """\
# An ONNX embedding model on one GPU, served on Triton with dynamic batching.
name: {name}
owner: team-{team}@example.com
served:
  - name: v2
    model: models:/{name}/2
    flavor: onnx
    compute: {{workload: gpu-small}}
scaling:
  concurrency: {{min: 4, max: 800}}
"""

AGENT = """\
# An agent in the team's own image, mostly waiting on other services; people wait on it, so it
# keeps one replica.
name: {name}
owner: team-{team}@example.com
served:
  - name: main
    image: registry.example.com/ops/{name}:1.8.2
    port: 8080
    compute: {{cpu: "2", memory: 2Gi}}
    env:
      - {{name: SCORER_URL, endpoint: {calls}}}
      - {{name: API_TOKEN, secretRef: {{name: {name}, key: token}}}}
scaling:
  concurrency: {{min: 1, max: 1000}}
logging:
  payloads: {{sampleRate: 0.05}}
"""

RANKER = """\
# A low-latency ranker: a canary of the next version takes 10% of traffic, and a schedule raises
# the floor ahead of the weekday morning ramp.
name: {name}
owner: team-{team}@example.com
served:
  - name: v12
    model: models:/{name}/12
    flavor: lightgbm
    compute: {{workload: cpu-large}}
  - name: v13
    model: models:/{name}/13
    flavor: lightgbm
    compute: {{workload: cpu-large}}
traffic: {{v12: 90, v13: 10}}
scaling:
  concurrency: {{min: 32, max: 4000}}
  schedule:
    - {{start: "0 7 * * 1-5", end: "0 19 * * 1-5", timezone: Europe/Berlin, minConcurrency: 400}}
"""

TEMPLATES = (CHURN, FRAUD, EMBEDDER, AGENT, RANKER)

# The MLflow models of each shape (model URI version, flavor), as images.lock locks them; the
# embedder is served by Triton and the agent is an image of its own, so neither is locked.
LOCKED_VERSIONS: dict[int, tuple[tuple[int, str], ...]] = {
    0: ((3, "sklearn"),),
    1: ((7, "xgboost"),),
    4: ((12, "lightgbm"), (13, "lightgbm")),
}
REQUIREMENTS = {
    "sklearn": ("mlflow==3.6.0", "cloudpickle==3.1.1", "numpy==2.3.4", "scikit-learn==1.7.2"),
    "xgboost": ("mlflow==3.6.0", "numpy==2.3.4", "xgboost==3.1.1"),
    "lightgbm": ("mlflow==3.6.0", "lightgbm==4.6.0", "numpy==2.3.4", "pandas==2.3.3"),
}

BASE = """\
// What every environment shares (the synthetic twin of environments/base.libsonnet).
{
  namespacePrefix: 'serving-',
  argocd: {
    repoURL: 'https://git.example.com/ml-platform/serving-config.git',
    targetRevision: 'main',
    project: 'model-serving',
  },
  prometheus: { url: 'http://prometheus-operated.monitoring.svc:9090' },
  observability: { podMonitors: true },
  gateway: { name: 'serving', namespace: 'gateway-system', internalUrl: 'http://serving-istio.gateway-system.svc' },
  workloads: {
    'cpu-small': { cpu: '1', memory: '2Gi' },
    'cpu-medium': { cpu: '4', memory: '8Gi' },
    'cpu-large': { cpu: '8', memory: '16Gi' },
    'gpu-small': { cpu: '8', memory: '32Gi', gpu: { count: 1, type: 'nvidia-l4' } },
  },
  defaults: {},
  patch: {},
  overrides: {},
  exclude: [],
  images: { repository: '%(repository)s' },
}
"""

DEV = """\
local base = import 'base.libsonnet';

base {
  name: 'dev',
  cluster: { name: 'dev-eu-west-1', server: 'https://dev-eu-west-1.k8s.example.com' },
  argocd+: { targetRevision: 'HEAD' },
  workloads+: {
    'cpu-large': { cpu: '2', memory: '4Gi' },
    'gpu-small': { cpu: '4', memory: '16Gi', gpu: { count: 1, type: 'nvidia-t4' } },
  },
  // everything in dev may scale to zero
  patch: { scaling: { concurrency: { min: 0 } } },
  overrides: {
    '%(scorer)s': { scaling: { concurrency: { max: 50 } } },
    '%(ranker)s': { scaling: { concurrency: { max: 100 }, schedule: [] } },
  },
}
"""

PROD = """\
local base = import 'base.libsonnet';

base {
  name: '%(name)s',
  cluster: { name: '%(name)s-us-east-1', server: 'https://%(name)s-us-east-1.k8s.example.com' },
  argocd+: { project: 'model-serving-%(name)s' },
  overrides: {
    '%(scorer)s': { scaling: { concurrency: { min: 64, max: 10000 } } },
    '%(agent)s': { scaling: { concurrency: { min: 4 } } },
  },
  minReplicas: 2,
}
"""


def endpoint_text(index: int) -> str:
    shape = index % SHAPES
    calls = name_of(index - shape)  # the agent calls the classifier of its own group of five
    return TEMPLATES[shape].format(name=name_of(index), team=index % 17, calls=calls)


def _dependencies(flavor: str, variant: int) -> Dependencies:
    """Teams pin a few different library versions: a handful of images per flavor."""
    python = ("3.11.9", "3.12.8")[variant % 2]
    requirements = (*REQUIREMENTS[flavor], f"pyarrow=={19 + variant}.0.0")
    return Dependencies(
        mlflow="3.6.0",
        python=python,
        flavors=(flavor,),
        build=("pip==25.2", "setuptools==80.9.0", "wheel==0.45.1"),
        requirements=requirements,
    )


def image_lock(endpoints: int) -> ImageLock:
    """Every locked MLflow version of the synthetic endpoints, in every environment."""
    dependencies: dict[str, Dependencies] = {}
    models: dict[str, LockedModel] = {}
    for index in range(endpoints):
        for version, flavor in LOCKED_VERSIONS.get(index % SHAPES, ()):
            deps = _dependencies(flavor, index % 3)
            dependencies[deps.digest] = deps
            image = f"{IMAGE_REPOSITORY}:{image_tag(deps.digest)}"
            models[f"models:/{name_of(index)}/{version}"] = LockedModel(deps.digest, image)
    return ImageLock(
        {name: LockedEnvironment(name, TRACKING_URI, models) for name in ENVIRONMENTS},
        dependencies,
    )


def make_repository(root: Path, endpoints: int) -> Path:
    """Write `endpoints` synthetic endpoint files, dev/staging/prod and images.lock."""
    if root.exists():
        shutil.rmtree(root)
    (root / "endpoints").mkdir(parents=True)
    environments = root / "environments"
    environments.mkdir()
    (environments / "base.libsonnet").write_text(BASE % {"repository": IMAGE_REPOSITORY})
    # The endpoints each environment singles out, as environments/ does for the examples.
    named = {"scorer": name_of(1), "agent": name_of(3), "ranker": name_of(4)}
    (environments / "dev.jsonnet").write_text(DEV % named)
    for name in ("prod", "staging"):
        (environments / f"{name}.jsonnet").write_text(PROD % {**named, "name": name})
    for index in range(endpoints):
        (root / "endpoints" / f"{name_of(index)}.yaml").write_text(endpoint_text(index))
    (root / "images.lock").write_text(dump_lock(image_lock(endpoints)))
    return root
