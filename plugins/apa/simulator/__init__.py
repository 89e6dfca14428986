"""`knobless simulate`: replay a traffic trace through the APA scaler's own decision code and a
model of KEDA, the HPA and the pods, beside the `fixed`, `cpu` and `kpa` baselines.

Entry points: `simulation.simulate(system, profile, trace, policies, settings)` (a `Simulation`
with per-policy summaries and `to_json()`), `endpoint.served_system(root, env, endpoint)`,
`profile.runtime_profile(runtime, ...)`, `trace.load_trace(path)`. The CLI command is the
`knobless_add_commands` plugin in `cli`. docs/guide/simulate.md explains the model.
"""
