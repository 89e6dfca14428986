"""Schema validation of rendered objects (the pipeline's "check" stage), compiled for speed.

    checker = SchemaChecker("1.33", extra_schema_dirs=[repo / "schemas" / "crds"])
    problems = checker.check(deployment)   # [] or [SchemaProblem(path, message, schema)]

See docs/explanation/schema-validation.md.
"""

from compiler.schemacheck.checker import SchemaChecker
from compiler.schemacheck.compiled import default_cache_dir
from compiler.schemacheck.errors import (
    SchemaCheckError,
    SchemaDefinitionError,
    UnsupportedKubernetesVersionError,
)
from compiler.schemacheck.explain import SchemaProblem
from compiler.schemacheck.sources import REPO_ROOT, supported_kubernetes_versions

CRD_SCHEMA_DIR = REPO_ROOT / "schemas" / "crds"
"""The project's CRD schemas: the compiler validates against the schemas that ship with it."""

__all__ = [
    "CRD_SCHEMA_DIR",
    "SchemaCheckError",
    "SchemaChecker",
    "SchemaDefinitionError",
    "SchemaProblem",
    "UnsupportedKubernetesVersionError",
    "default_cache_dir",
    "supported_kubernetes_versions",
]
