"""The APA external scaler: KEDA's gRPC `externalscaler.ExternalScaler` serving replicas needed.

`metadata` is the contract with the compiler (trigger metadata), `decision` the pure decision
logic shared with `knobless simulate`, `server` the gRPC server, `sampler` the Prometheus side.
"""
