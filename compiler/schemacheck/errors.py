"""Errors of the schema check: the schemas themselves cannot be used (not: an object is invalid).

KnoblessError
└── SchemaCheckError
    ├── UnsupportedKubernetesVersionError   no bundled schemas for the requested version
    └── SchemaDefinitionError               a CRD schema file is unreadable or untranslatable
"""

from __future__ import annotations

from compiler.errors import KnoblessError


class SchemaCheckError(KnoblessError):
    """The schemas needed to check rendered objects cannot be used."""


class UnsupportedKubernetesVersionError(SchemaCheckError):
    def __init__(self, version: str, supported: list[str]) -> None:
        self.version = version
        self.supported = supported
        span = f"{supported[0]} to {supported[-1]}" if supported else "none"
        super().__init__(
            f"no Kubernetes schemas for version `{version}` "
            f"(kubernetes-validate ships {span}; set kubernetesVersion to one of them)"
        )


class SchemaDefinitionError(SchemaCheckError):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")
