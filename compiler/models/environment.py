"""The environment: what `environments/<env>.jsonnet` evaluates to — what a cluster means.

Blocks besides the ones in ../examples have defaults, so an environment only names what differs.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field, model_validator

from compiler.models._base import DnsLabel, DnsSubdomain, Quantity, StrictModel
from compiler.models.endpoint import Gpu, SecretRef

KUBERNETES_VERSION = "1.33"
"""Kubernetes minor version whose OpenAPI schemas every rendered object is validated against."""


class Cluster(StrictModel):
    """The cluster this environment deploys to."""

    name: DnsSubdomain
    """Cluster name (as registered in Argo CD)."""
    server: AnyHttpUrl
    """API server URL (Argo CD destination)."""


class Automated(StrictModel):
    """Argo CD automated sync."""

    prune: bool = True
    """Delete objects that are no longer in git."""
    selfHeal: bool = True
    """Revert changes made on the cluster by hand."""


# Patterns stay in the JSON Schema (editor checks); the validators give readable messages.
_GO_DURATION = r"^([0-9]+|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$"
_CLUSTER_URL = r"^https://\S+[^/]$"
_SYNC_OPTION = r"^[A-Za-z]+$"


def _go_duration(value: str) -> str:
    if not re.match(_GO_DURATION, value):
        raise ValueError(
            f"`{value}` is not a duration: use seconds (30) or Go units (30s, 5m, 1h30m)"
        )
    return value


def _cluster_url(value: str) -> str:
    if not re.match(_CLUSTER_URL, value):
        raise ValueError(
            f"`{value}` must be an https:// URL without a trailing slash, written as the "
            "cluster is registered in Argo CD"
        )
    return value


def _sync_option(value: str) -> str:
    if not re.match(_SYNC_OPTION, value):
        raise ValueError(
            f"`{value}` is not an Argo CD sync option name (letters only, e.g. "
            "PrunePropagationPolicy)"
        )
    return value


def _sync_options_schema(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)
    schema["patternProperties"] = {_SYNC_OPTION: {"type": "string"}}


GoDuration = Annotated[
    str, AfterValidator(_go_duration), Field(json_schema_extra={"pattern": _GO_DURATION})
]


class Backoff(StrictModel):
    """Backoff between Argo CD's sync retries."""

    duration: GoDuration = "5s"
    """First wait (Go duration such as 5s, 2m; a bare number means seconds)."""
    factor: Annotated[int, Field(ge=1, le=10)] = 2
    """Each wait is the previous one times this factor."""
    maxDuration: GoDuration = "3m"
    """Longest wait between two attempts."""


class Retry(StrictModel):
    """How Argo CD retries a failed sync (e.g. a ScaledObject applied before KEDA's CRD exists)."""

    limit: Annotated[int, Field(ge=-1, le=100)] = 5
    """Attempts after the first failure; -1 retries forever, 0 never."""
    backoff: Backoff = Field(default_factory=Backoff)
    """Waits between attempts."""


class ArgoCDSettings(StrictModel):
    """How Argo CD syncs this environment's rendered/ folder."""

    repoURL: Annotated[str, Field(min_length=1)]
    """Git repository Argo CD reads rendered/ from."""
    targetRevision: Annotated[str, Field(min_length=1)] = "HEAD"
    """Branch, tag or commit to sync."""
    project: DnsLabel = "default"
    """Argo CD AppProject of the generated Applications."""
    renderProject: bool = True
    """Render that AppProject (never Argo CD's own `default`): this repository as source, the
    endpoint and scaler namespaces as destinations, Namespace as the cluster-scoped kind its
    Applications may sync. Turn off when the platform team manages the project."""
    rootProject: DnsLabel | None = None
    """AppProject of the `<env>-root` app-of-apps (it creates Application objects in `namespace`
    on `controlPlaneServer`, which the project must allow); defaults to `project`."""
    namespace: DnsLabel = "argocd"
    """Namespace where Argo CD's Application objects live."""
    controlPlaneServer: Annotated[
        str, AfterValidator(_cluster_url), Field(json_schema_extra={"pattern": _CLUSTER_URL})
    ] = "https://kubernetes.default.svc"
    """API server of the cluster Argo CD itself runs in (where Application objects are created);
    the in-cluster address unless Argo CD manages this environment from another cluster's view."""
    automated: Automated | None = Field(default_factory=Automated)
    """Automated sync settings; null turns auto-sync off (manual syncs, rollbacks allowed)."""
    retry: Retry = Field(default_factory=Retry)
    """Retries of failed syncs."""
    syncOptions: dict[Annotated[str, AfterValidator(_sync_option)], str] = Field(
        default_factory=dict, json_schema_extra=_sync_options_schema
    )
    """Overrides of the generated sync options by name, e.g. `{PrunePropagationPolicy:
    'background'}` or `{ServerSideApply: 'false'}`; an empty value removes the option."""


class PrometheusSettings(StrictModel):
    """Where the APA scaler reads its signals."""

    url: AnyHttpUrl
    """Prometheus base URL as seen from the scaler."""
    gateway: Literal["istio", "envoy-gateway"] = "istio"
    """Which gateway's series the scaler reads for concurrency, requests and latency (the
    templates per gateway are in docs/reference/scaler.md); any other gateway: set them in `queries`."""
    queries: dict[str, str] = Field(default_factory=dict)
    """Overrides of the scaler's PromQL query templates, by signal name (every signal:
    concurrency, requests, latency, replicas, cpu, memory, gpu, queue)."""


class GatewaySettings(StrictModel):
    """The Gateway API Gateway that routes to endpoints."""

    name: DnsSubdomain
    """Gateway name."""
    namespace: DnsLabel
    """Gateway namespace (allowed into endpoint namespaces by the NetworkPolicy)."""
    sectionName: DnsLabel | None = None
    """Listener of the Gateway to attach to."""
    hostnames: tuple[str, ...] = ()
    """Hostnames the routes answer on; endpoints are served under /<endpoint>/ on each."""
    dataPlaneNamespaces: tuple[DnsLabel, ...] = ()
    """Namespaces of the gateway's proxy pods, the only ones allowed into endpoint pods; default:
    `namespace` (Istio deploys a Gateway's proxies beside it). Envoy Gateway runs them in its
    controller's namespace by default: `[envoy-gateway-system]`."""
    internalUrl: AnyHttpUrl | None = None
    """In-cluster URL of the gateway's Service (e.g. `http://serving-istio.gateway-system.svc`):
    what an endpoint calling another one (`env: [{name: ..., endpoint: other}]`) is given."""
    internalPort: Annotated[int, Field(ge=1, le=65535)] | None = None
    """Container port of the proxy pods behind `internalUrl` (NetworkPolicies match pod ports:
    Envoy Gateway serves Service port 80 on 10080); default: `internalUrl`'s port."""
    mergeBackends: bool = False
    """Envoy Gateway: the Gateway's EnvoyProxy sets `spec.mergeBackends: {}` (v1.9+,
    experimental), so each served version has an Envoy cluster, and series, of its own. Without
    it the versions of a split endpoint share their rule's cluster: the scaler sees their
    requests but not their concurrency, answers their floor and reports them degraded (lint
    `envoy-split-unmeasured`). Declares what the cluster does; renders nothing."""


class Workload(StrictModel):
    """What a named workload means on this environment's clusters."""

    cpu: Quantity
    """CPU request per replica."""
    memory: Quantity
    """Memory request and limit per replica."""
    gpu: Gpu | None = None
    """GPUs per replica."""
    nodeSelector: dict[str, str] = Field(default_factory=dict)
    """Extra node selector for pods of this workload."""
    tolerations: tuple[dict[str, Any], ...] = ()
    """Tolerations for pods of this workload (e.g. GPU node taints)."""


class GpuTypeSettings(StrictModel):
    """Which nodes carry one GPU type (`gpu.type` of workloads and endpoints)."""

    products: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=63)], ...], Field(min_length=1)
    ]
    """Values of `label` on nodes with this GPU, e.g. [NVIDIA-H100-80GB-HBM3, NVIDIA-H100-PCIe]."""
    memory: Quantity
    """Memory of one GPU, e.g. 80Gi (bounds the model weights a pod of N GPUs downloads)."""
    label: Annotated[str, Field(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9._-]+$")] = (
        "nvidia.com/gpu.product"
    )
    """Node label naming the GPU model (GPU Feature Discovery's by default)."""


class RuntimeImages(StrictModel):
    """Container images of the serving runtimes and sidecars."""

    mlflow: str = "ghcr.io/mlflow/mlflow:v3.6.0"
    """MLflow pyfunc scoring server image."""
    vllm: str = "vllm/vllm-openai:v0.11.2"
    """vLLM OpenAI-compatible server image."""
    triton: str = "nvcr.io/nvidia/tritonserver:25.10-py3"
    """NVIDIA Triton Inference Server image."""
    otelCollector: str = "otel/opentelemetry-collector-contrib:0.139.0"
    """OpenTelemetry Collector sidecar image."""


_IMAGE_DIGEST = r"^sha256:[0-9a-f]{64}$"
_IMAGE_REPOSITORY = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$"


def _image_digest(value: str) -> str:
    if not re.match(_IMAGE_DIGEST, value):
        raise ValueError(f"`{value}` is not an image digest: sha256: and 64 lower-case hex digits")
    return value


def _image_repository(value: str) -> str:
    if not re.match(_IMAGE_REPOSITORY, value):
        raise ValueError(
            f"`{value}` is not an image repository (registry/path, lower case, no tag), e.g. "
            "registry.example.com/ml-platform/model-images"
        )
    return value


ImageDigest = Annotated[
    str, AfterValidator(_image_digest), Field(json_schema_extra={"pattern": _IMAGE_DIGEST})
]


class ImageSettings(StrictModel):
    """Model images (built per set of dependencies, locked in images.lock) and how pods pull."""

    repository: (
        Annotated[
            str,
            AfterValidator(_image_repository),
            Field(json_schema_extra={"pattern": _IMAGE_REPOSITORY}),
        ]
        | None
    ) = None
    """Where `knobless images build --push` pushes MLflow model images (tag: the dependency
    digest); `knobless images resolve` needs it."""
    strict: bool = False
    """A served MLflow version without an images.lock entry is an error (else a warning, and
    it runs the generic `runtimes.mlflow` image)."""
    unlocked: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    """Model URIs allowed to run the generic image even when `strict`, each with the reason
    (shown in every warning about it); `models:/<name>` covers every version of a registered
    model."""
    pullSecrets: tuple[DnsSubdomain, ...] = ()
    """imagePullSecrets of every pod, by Secret name (each must exist in the pod's namespace)."""
    digests: dict[str, ImageDigest] = Field(default_factory=dict)
    """Digests of images referenced by tag (`runtimes.*`, `scaler.image`, a team's `image`):
    reference -> sha256:..., rendered as `reference@digest`."""

    def waiver(self, model: str) -> str | None:
        """Why `unlocked` lets this model run the generic image: its URI, or `models:/<name>`
        for every version of a registered model (None: not listed)."""
        if model in self.unlocked:
            return self.unlocked[model]
        if model.startswith("models:/"):
            name = model[len("models:/") :].split("/", 1)[0].split("@", 1)[0]
            return self.unlocked.get(f"models:/{name}")
        return None


class MLflowSettings(StrictModel):
    """Where runtimes fetch models from."""

    trackingUri: str = "http://mlflow.mlflow.svc:5000"
    """MLflow tracking / model registry URI."""
    credentials: SecretRef | None = None
    """Secret holding the registry token (MLFLOW_TRACKING_TOKEN)."""
    externalUri: str | None = None
    """The same registry as reached from where `knobless images resolve` runs (CI), when
    `trackingUri` is an in-cluster address; default trackingUri."""


class Observability(StrictModel):
    """Where the OpenTelemetry sidecar exports and who may scrape."""

    otlpEndpoint: str = "otel-collector.monitoring.svc:4317"
    """OTLP gRPC endpoint traces and logs are exported to."""
    monitoringNamespace: DnsLabel = "monitoring"
    """Namespace of Prometheus and the collector (allowed to scrape endpoint pods)."""
    otlpInsecure: bool = True
    """Export over plain gRPC (an in-cluster collector); false uses TLS with the system CAs."""
    podMonitors: bool = False
    """Render Prometheus Operator PodMonitors for every served version and the scaler (the
    Operator ignores `prometheus.io/*` annotations)."""
    podMonitorLabels: dict[str, str] = Field(default_factory=dict)
    """Labels the Prometheus's `podMonitorSelector` selects on (kube-prometheus-stack:
    `{release: <its release name>}`)."""


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a CIDR block such as 169.254.20.10/32") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class DnsSettings(StrictModel):
    """Where endpoint pods resolve names (egress on port 53, UDP and TCP)."""

    namespace: DnsLabel | None = "kube-system"
    """Namespace of the cluster DNS pods (CoreDNS / kube-dns); null when pods resolve elsewhere."""
    cidrs: tuple[Cidr, ...] = ()
    """DNS servers on the host network, which no namespace selector matches: NodeLocal DNSCache
    (`169.254.20.10/32`), GKE Cloud DNS / the metadata server (`169.254.169.254/32`)."""


class EgressRule(StrictModel):
    """A destination endpoint pods may reach besides DNS."""

    cidr: str | None = None
    """IP block, e.g. 10.0.0.0/8."""
    namespace: DnsLabel | None = None
    """A namespace in the cluster (e.g. the MLflow server's)."""
    ports: tuple[Annotated[int, Field(ge=1, le=65535)], ...] = ()
    """TCP ports; all when empty."""

    @model_validator(mode="after")
    def _one_target(self) -> EgressRule:
        if (self.cidr is None) == (self.namespace is None):
            raise ValueError("set exactly one of `cidr` or `namespace`")
        return self


class ScalerTLS(StrictModel):
    """mTLS between KEDA and the APA scaler."""

    enabled: bool = False
    """Serve the scaler over mTLS and render TriggerAuthentications."""
    secretName: DnsSubdomain = "knobless-apa-tls"
    """Secret (in each endpoint namespace) with `ca.crt`, `tls.crt`, `tls.key` in PEM."""


class ScalerSettings(StrictModel):
    """The APA external scaler of this environment."""

    image: str = "ghcr.io/knobless/knobless:0.1.0"
    """The project's own image (see Dockerfile)."""
    namespace: DnsLabel = "knobless-system"
    """Namespace the scaler runs in."""
    shards: Annotated[int, Field(ge=1, le=64)] = 1
    """Number of scaler shards; each ScaledObject is assigned to one (rendezvous hashing)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 9090
    """gRPC port."""
    pollingInterval: Annotated[int, Field(ge=1, le=300)] = 15
    """KEDA pollingInterval of the ScaledObjects, seconds."""
    tls: ScalerTLS = Field(default_factory=ScalerTLS)
    """mTLS settings."""
    kedaNamespace: DnsLabel = "keda"
    """Namespace of KEDA's operator and metrics server (allowed to call the scaler)."""
    cpu: Quantity = "2"
    """CPU request of one scaler shard (one shard answers ~3,500 calls/s on 2 cores)."""
    memory: Quantity = "512Mi"
    """Memory request and limit of one scaler shard."""


class CapacityGuards(StrictModel):
    """The platform team's ceilings on what one served version may need when it takes its traffic
    share of `concurrency.max` at `perReplica.min` (lint rules `per-replica-max-unreachable` and
    `per-replica-gpu-impossible`)."""

    maxReplicas: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000
    """Replicas one served version may need. Also caps the replica ceiling (maxReplicaCount)
    derived from a runtime's default perReplica.min when the spec sets no `perReplica`."""
    maxGpus: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    """GPUs one served version may hold (replicas x GPUs per replica); caps derived replica
    ceilings the same way."""
    severity: Literal["warning", "error"] = "warning"
    """How a spec past a ceiling is reported: a warning, or an error that fails the compile."""


class Environment(StrictModel):
    """One environment (a cluster): `environments/<env>.jsonnet`."""

    name: DnsLabel
    """Environment name; equals the file name without `.jsonnet`."""
    cluster: Cluster
    """Target cluster."""
    namespacePrefix: Annotated[str, Field(pattern=r"^([a-z0-9][-a-z0-9]*)?$", max_length=30)] = ""
    """Prefix of endpoint namespaces: namespace = prefix + endpoint name."""
    argocd: ArgoCDSettings
    """Argo CD settings."""
    prometheus: PrometheusSettings
    """Prometheus the scaler reads."""
    gateway: GatewaySettings
    """Gateway the HTTPRoutes attach to."""
    workloads: dict[DnsLabel, Workload] = Field(default_factory=dict)
    """Named workloads endpoints may refer to."""
    defaults: dict[str, Any] = Field(default_factory=dict)
    """Partial endpoint spec filling what endpoint files leave out (lowest precedence)."""
    patch: dict[str, Any] = Field(default_factory=dict)
    """Partial endpoint spec laid over every endpoint."""
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Partial endpoint specs laid over one endpoint each, by name (highest precedence)."""
    exclude: tuple[str, ...] = ()
    """Endpoints not deployed to this environment."""
    gpuTypes: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")], GpuTypeSettings] = (
        Field(default_factory=dict)
    )
    """GPU types besides (or replacing) the built-in ones: nvidia-t4, nvidia-l4, nvidia-a10g,
    nvidia-l40s, nvidia-a100, nvidia-a100-80gb, nvidia-h100, nvidia-h200."""
    runtimes: RuntimeImages = Field(default_factory=RuntimeImages)
    """Runtime and sidecar images."""
    mlflow: MLflowSettings = Field(default_factory=MLflowSettings)
    """Model registry access."""
    images: ImageSettings = Field(default_factory=ImageSettings)
    """Model images, digests and pull secrets."""
    observability: Observability = Field(default_factory=Observability)
    """Telemetry export."""
    dns: DnsSettings = Field(default_factory=DnsSettings)
    """DNS egress of endpoint pods."""
    egress: tuple[EgressRule, ...] = ()
    """Extra egress allowed from endpoint pods (DNS and the MLflow namespace are always allowed)."""
    scaler: ScalerSettings = Field(default_factory=ScalerSettings)
    """The APA scaler."""
    minReplicas: Annotated[int, Field(ge=1, le=10)] = 1
    """Fewest replicas of every served version that takes traffic and keeps a floor
    (`concurrency.min` > 0 or a schedule): 2 in production, so a node drain or a zone outage
    leaves a replica serving (the PodDisruptionBudget lets one go at a time)."""
    capacity: CapacityGuards = Field(default_factory=CapacityGuards)
    """Ceilings on what one served version may need (replicas, GPUs)."""
    kubernetesVersion: Annotated[str, Field(pattern=r"^1\.\d+$")] = KUBERNETES_VERSION
    """Kubernetes minor version rendered objects are validated against."""

    @property
    def source(self) -> str:
        """The environment's file, relative to the repository root (its name is the file's)."""
        return f"environments/{self.name}.jsonnet"

    @property
    def environment(self) -> Environment:
        """Deprecated: hooks used to receive an EnvironmentContext wrapping the Environment;
        they receive the Environment itself now (`environment.images`, not
        `environment.environment.images`)."""
        from compiler.deprecation import warn_deprecated

        warn_deprecated(
            "`environment.environment` is deprecated: hooks receive the Environment itself "
            "(write `environment.images`, not `environment.environment.images`); "
            "see docs/contributing/plugins.md#deprecations"
        )
        return self

    def namespace_for(self, endpoint: str) -> str:
        return f"{self.namespacePrefix}{endpoint}"

    def pinned(self, image: str) -> str:
        """`image` by digest when `images.digests` gives one (and it has none yet)."""
        digest = self.images.digests.get(image)
        return f"{image}@{digest}" if digest and "@" not in image else image
