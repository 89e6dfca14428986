"""The workload of each served version: Deployment, Service, PodDisruptionBudget.

Each module here is its own built-in plugin (see compiler/plugins.py BUILTIN_PLUGINS); the
helpers (probes, security, config hash) are plain functions the runtimes and renderers share.
"""
