"""Each built-in lint rule on a real scratch repository, with its exact text and position."""

from __future__ import annotations

from pathlib import Path

from tests.lint.conftest import Lint, edit


def test_the_examples_are_clean(lint: Lint) -> None:
    assert lint() == []


def cold(file: str, line: int, wait: str) -> str:
    return (
        f"endpoints/{file}.yaml:{line}:22: warning: scaling.concurrency.min is 0 in `prod`: "
        "after an idle period nothing holds requests while the first pod starts, so the gateway "
        f"answers 503 until it is ready ({wait}); keep a floor (min >= 1) in production; if "
        'intended, say why: lint: {ignore: {prod-min-zero-cold-start: "..."}} '
        "[prod-min-zero-cold-start]"
    )


def test_prod_min_zero_on_a_gpu_endpoint(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/support-llm.yaml", "{min: 16, max: 512}", "{min: 0, max: 512}")
    edit(repo, "endpoints/doc-embedder.yaml", "{min: 4, max: 800}", "{min: 0, max: 800}")
    # dev scales everything to zero (its patch), and is not production: no finding there.
    assert lint() == [
        cold("doc-embedder", 10, "v2 runs on GPUs or is an LLM, so that takes minutes"),
        cold("support-llm", 12, "ft-2026-11 runs on GPUs or is an LLM, so that takes minutes"),
    ]


def test_prod_min_zero_points_at_the_layer_that_set_it(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "environments/prod.jsonnet",
        "overrides: {",
        "overrides: {\n    'doc-embedder': { scaling: { concurrency: { min: 0 } } },",
    )
    [finding] = lint()
    assert finding.startswith("environments/prod.jsonnet:8:49: warning: scaling.concurrency.min")
    assert finding.endswith("[prod-min-zero-cold-start]")


def test_a_cpu_endpoint_scaling_to_zero_in_prod_is_reported_too(repo: Path, lint: Lint) -> None:
    # Nothing buffers requests while a pod starts, whatever the runtime (issue 17).
    edit(repo, "endpoints/fraud-scorer.yaml", "{min: 8, max: 2000}", "{min: 0, max: 2000}")
    edit(repo, "environments/prod.jsonnet", "min: 64, ", "")
    assert lint() == [cold("fraud-scorer", 11, "that takes the pod's whole start-up")]


def test_a_single_replica_floor_in_prod(repo: Path, lint: Lint) -> None:
    edit(repo, "environments/prod.jsonnet", "  minReplicas: 2,", "  minReplicas: 1,")
    hint = " in the environment file of `prod`; if intended, say why: lint: {ignore: "
    found = lint()
    assert found == [
        f"endpoints/{file}.yaml:{line}:22: warning: {names} keeps a floor of one replica in "
        "`prod`: a node drain takes it down until a replacement is ready; set `minReplicas: 2`"
        + hint
        + '{prod-single-replica: "..."}} [prod-single-replica]'
        for file, line, names in (
            ("doc-embedder", 10, "v2"),
            ("feed-ranker", 16, "v12, v13"),
            ("support-llm", 12, "ft-2026-11"),
        )
    ] + [
        "environments/prod.jsonnet:10:49: warning: main keeps a floor of one replica in `prod`: "
        "a node drain takes it down until a replacement is ready; set `minReplicas: 2`"
        + hint
        + '{prod-single-replica: "..."}} [prod-single-replica]'
    ]


def test_ignore_with_a_reason_switches_a_rule_off(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/support-llm.yaml", "{min: 16, max: 512}", "{min: 0, max: 512}")
    with (repo / "endpoints/support-llm.yaml").open("a", encoding="utf-8") as file:
        file.write('lint:\n  ignore:\n    prod-min-zero-cold-start: "batch jobs only, at night"\n')
    assert lint() == []


def test_ignore_naming_no_rule_is_reported(repo: Path, lint: Lint) -> None:
    with (repo / "endpoints/fraud-scorer.yaml").open("a", encoding="utf-8") as file:
        file.write('lint:\n  ignore:\n    owner-not-mail: "shared mailbox"\n')
    assert lint() == [
        "endpoints/fraud-scorer.yaml:14:21: warning: lint.ignore: there is no lint rule "
        "`owner-not-mail` (did you mean `owner-not-email`?) [lint-unknown-rule]"
    ]


def test_strict_turns_warnings_into_errors(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/churn-classifier.yaml", "growth-ds@example.com", "growth data science")
    assert lint(strict=True) == [
        "endpoints/churn-classifier.yaml:3:8: error: owner: `growth data science` is not an "
        "e-mail address; use the team's address (e.g. risk-platform@example.com) "
        "[owner-not-email]"
    ]


def test_owner_not_email_is_reported_once_not_per_environment(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/churn-classifier.yaml", "growth-ds@example.com", "growth-ds")
    assert lint() == [
        "endpoints/churn-classifier.yaml:3:8: warning: owner: `growth-ds` is not an e-mail "
        "address; use the team's address (e.g. risk-platform@example.com) [owner-not-email]"
    ]


def test_zero_traffic_version(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/feed-ranker.yaml", "{v12: 90, v13: 10}", "{v12: 100, v13: 0}")
    assert lint() == [
        "endpoints/feed-ranker.yaml:14:26: warning: traffic.v13: `v13` gets 0% of traffic but "
        "keeps a replica running; remove it from `served` or give it a share; if intended, say "
        'why: lint: {ignore: {traffic-zero-served: "..."}} [traffic-zero-served]'
    ]


def test_schedule_window_empty_and_overlapping(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/feed-ranker.yaml", 'end: "0 19 * * 1-5"', 'end: "0 7 * * 1-5"')
    assert lint() == [
        "endpoints/feed-ranker.yaml:18:7: error: scaling.schedule[0] is empty: `end` "
        "(0 7 * * 1-5) fires at the same minute as `start` (0 7 * * 1-5) [schedule-window-empty]"
    ]
    edit(repo, "endpoints/feed-ranker.yaml", 'end: "0 7 * * 1-5"', 'end: "0 19 * * 5"')
    assert lint() == [
        "endpoints/feed-ranker.yaml:18:7: warning: scaling.schedule[0] overlaps itself: the "
        "window opening Mon 2026-01-05 07:00 closes only at Fri 2026-01-09 19:00, after it opens "
        "again at Tue 2026-01-06 07:00 [schedule-window-overlap]"
    ]


def test_per_replica_above_max(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "endpoints/support-llm.yaml",
        "perReplica: {min: 8, max: 128}",
        "perReplica: {min: 600, max: 700}",
    )
    assert lint() == [
        "endpoints/support-llm.yaml:13:21: warning: scaling.perReplica.min (600) is above "
        "scaling.concurrency.max (512) in `prod`: a replica never sees that many requests; lower "
        "perReplica.min or raise concurrency.max [per-replica-above-max]"
    ]


def _unreachable(env: str) -> str:
    return (
        f"endpoints/triage-agent.yaml:14:30: warning: in `{env}`, served `main` takes 100% of "
        "concurrency.max 5,000 (endpoint file, endpoints/triage-agent.yaml:14:30): 5,000 in "
        "flight, at perReplica.min 2 (endpoint file, endpoints/triage-agent.yaml:15:21): it may "
        "need 2,500 replicas, more than the environment's capacity.maxReplicas (1,000); raise "
        "perReplica.min to at least 5, lower concurrency.max, or have the platform team raise "
        "capacity.maxReplicas [per-replica-max-unreachable]"
    )


def test_per_replica_makes_max_unreachable(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "endpoints/triage-agent.yaml",
        "{min: 0, max: 1000}",
        "{min: 0, max: 5000}\n  perReplica: {min: 2, max: 400}",
    )
    # a warning unless the environment says otherwise, once per environment, each named
    assert lint() == [_unreachable("dev"), _unreachable("prod")]


def test_capacity_guards_are_the_environments(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "endpoints/triage-agent.yaml",
        "{min: 0, max: 1000}",
        "{min: 0, max: 5000}\n  perReplica: {min: 2, max: 400}",
    )
    edit(
        repo, "environments/dev.jsonnet", "exclude:", "capacity: { maxReplicas: 2500 },\n  exclude:"
    )
    edit(
        repo,
        "environments/prod.jsonnet",
        "overrides:",
        "capacity+: { severity: 'error' },\n  overrides:",
    )
    assert lint() == [_unreachable("prod").replace(": warning: ", ": error: ")]


def test_a_version_is_judged_on_its_traffic_share(repo: Path, lint: Lint) -> None:
    """Three versions sharing concurrency.max 3000 at perReplica.min 2: 510 replicas for the
    largest share, well within 1,000 (the whole 3000 at 2 would be 1,500)."""
    edit(
        repo,
        "endpoints/feed-ranker.yaml",
        "traffic: {v12: 90, v13: 10}",
        "  - name: v14\n    model: models:/feed-ranker/14\n    flavor: lightgbm\n"
        "    compute: {workload: cpu-large}\ntraffic: {v12: 34, v13: 33, v14: 33}",
    )
    edit(
        repo,
        "endpoints/feed-ranker.yaml",
        "scaling:\n",
        "scaling:\n  perReplica: {min: 2, max: 64}\n",
    )
    edit(repo, "endpoints/feed-ranker.yaml", "{min: 32, max: 4000}", "{min: 32, max: 3000}")
    assert lint() == []


def test_a_finding_points_at_the_layer_that_set_the_value(repo: Path, lint: Lint) -> None:
    """triage-agent's perReplica.min is in the endpoint file, the max that trips the guard is
    prod's override: the finding is at the override and names `prod`."""
    edit(
        repo,
        "endpoints/triage-agent.yaml",
        "{min: 0, max: 1000}",
        "{min: 0, max: 1000}\n  perReplica: {min: 2, max: 400}",
    )
    edit(
        repo,
        "environments/prod.jsonnet",
        "concurrency: { min: 1 } } },",
        "concurrency: { min: 1, max: 3000 } } },",
    )
    assert lint() == [
        "environments/prod.jsonnet:10:57: warning: in `prod`, served `main` takes 100% of "
        "concurrency.max 3,000 (override, environments/prod.jsonnet:10:57): 3,000 in flight, at "
        "perReplica.min 2 (endpoint file, endpoints/triage-agent.yaml:15:21): it may need 1,500 "
        "replicas, more than the environment's capacity.maxReplicas (1,000); raise "
        "perReplica.min to at least 3, lower concurrency.max, or have the platform team raise "
        "capacity.maxReplicas [per-replica-max-unreachable]"
    ]


def test_per_replica_impossible_with_the_gpu_count(repo: Path, lint: Lint) -> None:
    edit(repo, "endpoints/support-llm.yaml", "{min: 16, max: 512}", "{min: 16, max: 1024}")
    assert lint() == [
        "endpoints/support-llm.yaml:12:31: warning: in `prod`, served `ft-2026-11` takes 100% of "
        "concurrency.max 1,024 (endpoint file, endpoints/support-llm.yaml:12:31): 1,024 in "
        "flight, at perReplica.min 8 (endpoint file, endpoints/support-llm.yaml:13:21): 128 "
        "replicas of 8 GPUs hold 1,024 GPUs, more than the environment's capacity.maxGpus (512); "
        "raise perReplica.min to at least 16, lower concurrency.max, or have the platform team "
        "raise capacity.maxGpus [per-replica-gpu-impossible]"
    ]


def test_override_and_exclude_naming_no_endpoint(repo: Path, lint: Lint) -> None:
    edit(repo, "environments/prod.jsonnet", "'fraud-scorer':", "'fraud-scoer':")
    edit(repo, "environments/dev.jsonnet", "exclude: ['support-llm']", "exclude: ['support-lm']")
    assert lint() == [
        "environments/dev.jsonnet:8:3: warning: exclude: there is no endpoint `support-lm` (did "
        "you mean `support-llm`?) in endpoints/; nothing is excluded from `dev` by it "
        "[exclude-unknown-endpoint]",
        "environments/prod.jsonnet:8:5: error: overrides.fraud-scoer: there is no endpoint "
        "`fraud-scoer` (did you mean `fraud-scorer`?) in endpoints/; this override of `prod` "
        "does nothing [override-unknown-endpoint]",
    ]


def test_override_of_an_excluded_endpoint(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "environments/dev.jsonnet",
        "overrides: {",
        "overrides: {\n    'support-llm': { owner: 'x@example.com' },",
    )
    assert lint() == [
        "environments/dev.jsonnet:16:5: warning: overrides.support-llm: `support-llm` is "
        "excluded from `dev`; the override has no effect [override-excluded-endpoint]"
    ]


def test_unused_workload_of_the_environment_file(repo: Path, lint: Lint) -> None:
    edit(
        repo,
        "environments/prod.jsonnet",
        "overrides: {",
        "workloads+: { 'cpu-huge': { cpu: '64', memory: '256Gi' } },\n  overrides: {",
    )
    assert lint() == [
        "environments/prod.jsonnet:7:17: warning: workloads.cpu-huge: no endpoint deployed to "
        "`prod` uses workload `cpu-huge` [workload-unused]"
    ]


def test_an_env_value_naming_another_endpoints_service(repo: Path, lint: Lint) -> None:
    # The agent's LLM before issue 17: a Service that admits only the gateway.
    edit(
        repo,
        "endpoints/triage-agent.yaml",
        "{name: LLM_URL, endpoint: support-llm}",
        '{name: LLM_URL, value: "http://support-llm-ft-2026-11.serving-support-llm.svc"}',
    )
    edit(
        repo,
        "endpoints/triage-agent.yaml",
        "- {name: API_TOKEN,",
        '- {name: CACHE_URL, value: "http://cache.redis.svc.cluster.local:6379"}\n      '
        "- {name: API_TOKEN,",
    )
    found = lint()
    assert found == [
        "endpoints/triage-agent.yaml:11:32: error: served[0].env[0] (LLM_URL) points at "
        "`http://support-llm-ft-2026-11.serving-support-llm.svc`, which this endpoint's "
        "NetworkPolicy blocks: `serving-support-llm` is endpoint `support-llm`'s namespace, "
        "whose pods admit only the gateway: call it through the gateway with `{name: ..., "
        "endpoint: support-llm}`; if intended, say why: lint: {ignore: {env-direct-service: "
        '"..."}} [env-direct-service]',
        "endpoints/triage-agent.yaml:12:34: error: served[0].env[1] (CACHE_URL) points at "
        "`http://cache.redis.svc.cluster.local:6379`, which this endpoint's NetworkPolicy "
        "blocks: allow it in the environment's `egress` (`{namespace: redis, ports: [...]}`) or "
        "call it through the gateway; if intended, say why: lint: {ignore: {env-direct-service: "
        '"..."}} [env-direct-service]',
    ]  # once, though both environments find it


ENVOY = "  prometheus+: { gateway: 'envoy-gateway' },\n  minReplicas: 2,"


def no_wake(file: str, line: int, col: int, until: str = "") -> str:
    return (
        f"{file}:{line}:{col}: error: scaling.concurrency.min is 0 in `prod`, whose gateway is "
        "Envoy Gateway: it answers requests to a version with no ready pod itself and counts "
        f"them for no cluster, so once at zero the version stays there{until}, answering 503; "
        "keep a floor (min >= 1) or set a `requests` template that counts them "
        "(`prometheus.queries`); if intended, say why: lint: {ignore: "
        '{envoy-no-wake-from-zero: "..."}} [envoy-no-wake-from-zero]'
    )


def test_envoy_gateway_split_and_scale_to_zero(repo: Path, lint: Lint) -> None:
    edit(repo, "environments/prod.jsonnet", "  minReplicas: 2,", ENVOY)
    # churn-classifier scales to zero in prod (its callers retry 503s while a pod starts): on
    # Envoy Gateway no series counts those requests, so it would never start.
    assert lint() == [
        no_wake("endpoints/churn-classifier.yaml", 10, 22),
        "endpoints/feed-ranker.yaml:14:10: warning: v12, v13 split one HTTPRoute rule, which "
        "Envoy Gateway serves through one Envoy cluster in `prod`: the scaler sees no "
        "concurrency per version, answers their floor whatever the load and reports them "
        "degraded; set `spec.mergeBackends: {}` on the Gateway's EnvoyProxy (Envoy Gateway >= "
        "1.9) and `gateway+: { mergeBackends: true }` in the environment file of `prod`; if "
        'intended, say why: lint: {ignore: {envoy-split-unmeasured: "..."}} '
        "[envoy-split-unmeasured]",
    ]
    merged = ENVOY + "\n  gateway+: { mergeBackends: true },"
    edit(repo, "environments/prod.jsonnet", ENVOY, merged)
    edit(repo, "endpoints/feed-ranker.yaml", "{min: 32, max: 4000}", "{min: 0, max: 4000}")
    assert lint() == [
        no_wake("endpoints/churn-classifier.yaml", 10, 22),
        no_wake("endpoints/feed-ranker.yaml", 16, 22, " until a schedule window opens"),
        "endpoints/feed-ranker.yaml:16:22: warning: scaling.concurrency.min is 0 in `prod`: "
        "after an idle period nothing holds requests while the first pod starts, so the "
        "gateway answers 503 until it is ready (that takes the pod's whole start-up); keep a "
        "floor (min >= 1) in production; if intended, say why: lint: {ignore: "
        '{prod-min-zero-cold-start: "..."}} [prod-min-zero-cold-start]',
    ]
    # An environment counting those requests its own way (e.g. from access logs).
    counted = merged.replace("gateway: ", "queries: { requests: 'sum(r)' }, gateway: ", 1)
    edit(repo, "environments/prod.jsonnet", merged, counted)
    assert [f for f in lint() if "envoy-" in f] == []
