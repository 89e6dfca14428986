"""Names the CLI needs before any simulation runs: kept apart so that building `knobless --help`
(or a compile, which builds the same parser) does not import numpy."""

POLICIES = ("apa", "fixed", "cpu", "kpa", "ray")
"""Simulated when no --policy is given."""
REFERENCES = ("oracle", "oracle-hpa")
"""The perfectly informed references (plugins/apa/simulator/oracle.py), on request."""
DEFAULT_SCRAPE_S = 5
