"""The proving ground: real parts on 127.0.0.1 for bench/proving_ground.py and its CI test.

A real MLflow registry and model server (the container knobless renders, run as a process in a
cgroup with a CFS quota), HAProxy with its Prometheus exporter, prometheus-process-exporter, a
real Prometheus, the real `knobless scaler` polled like KEDA polls it, and an open-loop load
generator pinned to a core of its own. Every module starts what it owns and stops it.
"""
