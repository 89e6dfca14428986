"""The pull-request workflow: `knobless diff`, `knobless explain` and semantic lint.

- `diff`: structural diff of two rendered trees (field-level changes per object).
- `summary`: what a reviewer reads in ten seconds (restarts, traffic, capacity).
- `text`, `markdown`, `jsonout`: the three output formats of `knobless diff`.
- `gitrev`: a git revision materialized in a temporary directory (the working tree is untouched).
- `explain`: the resolved spec of one endpoint with the origin of every value.
- `lint`: runs the semantic lint hooks, applies per-endpoint opt-outs and `--strict`.
"""
