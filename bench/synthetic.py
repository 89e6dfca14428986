"""A synthetic repository of N endpoints in three environments, shaped like the examples."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

SHAPES = [
    # (flavor/runtime lines, compute, scaling) — the mix of the example endpoints
    (
        '    model: models:/{name}/3\n    flavor: sklearn\n    compute: {{cpu: "1", memory: 1Gi}}\n',
        "  concurrency: {{min: 0, max: 40}}\n",
    ),
    (
        "    model: models:/{name}/7\n    flavor: xgboost\n    compute: {{workload: cpu-medium}}\n",
        "  concurrency: {{min: 8, max: 2000}}\n",
    ),
    (
        "    model: models:/{name}/2\n    flavor: onnx\n    compute: {{workload: gpu-small}}\n",
        "  concurrency: {{min: 4, max: 800}}\n",
    ),
    (
        "    image: registry.example.com/ops/{name}:1.8.2\n    port: 8080\n"
        '    compute: {{cpu: "2", memory: 2Gi}}\n'
        '    env:\n      - {{name: LLM_URL, value: "http://llm.svc:8080"}}\n'
        "      - {{name: API_TOKEN, secretRef: {{name: {name}, key: token}}}}\n",
        "  concurrency: {{min: 0, max: 1000}}\n",
    ),
]

TWO_VERSIONS = """\
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
logging:
  payloads: {{sampleRate: 0.05}}
"""


def endpoint_text(index: int) -> str:
    name = f"model-{index:05d}"
    if index % 5 == 4:
        return TWO_VERSIONS.format(name=name, team=index % 17)
    served, scaling = SHAPES[index % 4]
    return (
        f"name: {name}\nowner: team-{index % 17}@example.com\nserved:\n  - name: v1\n"
        + served.format(name=name)
        + "scaling:\n"
        + scaling.format()
    )


def make_repository(root: Path, endpoints: int) -> Path:
    """Write `endpoints` synthetic endpoint files and the example environments plus `staging`."""
    if root.exists():
        shutil.rmtree(root)
    (root / "endpoints").mkdir(parents=True)
    shutil.copytree(PROJECT / "environments", root / "environments")
    staging = (root / "environments" / "prod.jsonnet").read_text()
    staging = staging.replace("name: 'prod'", "name: 'staging'").replace(
        "prod-us-east-1", "staging-us-east-1"
    )
    (root / "environments" / "staging.jsonnet").write_text(staging)
    dev = root / "environments" / "dev.jsonnet"
    dev.write_text(
        dev.read_text()
        .replace("'fraud-scorer'", "'model-00001'")
        .replace("'feed-ranker'", "'model-00004'")
    )
    for env in ("prod.jsonnet", "staging.jsonnet"):
        path = root / "environments" / env
        path.write_text(path.read_text().replace("'fraud-scorer'", "'model-00001'"))
    for index in range(endpoints):
        (root / "endpoints" / f"model-{index:05d}.yaml").write_text(endpoint_text(index))
    return root
