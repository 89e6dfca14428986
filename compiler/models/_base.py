"""Shared building blocks of the spec models: strict frozen base, names, quantities."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from compiler.quantity import parse_quantity

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StrictModel(BaseModel):
    """Unknown keys are errors, values are immutable, docstrings become schema descriptions."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=False,
        use_attribute_docstrings=True,
        populate_by_name=False,
    )


def _dns_label(value: str) -> str:
    if len(value) > 63:
        raise ValueError(f"`{value}` is {len(value)} characters long; at most 63 are allowed")
    if not DNS_LABEL.match(value):
        raise ValueError(
            f"`{value}` is not a DNS-1123 label: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"`{value}` is not a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'"
        )
    return value


def parse_quantity_strict(value: str) -> Decimal:
    """A Kubernetes quantity as a Decimal; ValueError with a readable message when it is not one."""
    try:
        quantity = parse_quantity(value)
    except ValueError:
        raise ValueError(
            f"`{value}` is not a Kubernetes quantity (examples: 500m, 2, 1Gi, 512Mi)"
        ) from None
    return Decimal(quantity)


def _quantity(value: str) -> str:
    if parse_quantity_strict(value) <= 0:
        raise ValueError(f"`{value}` must be greater than zero")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]


def _number_to_text(value: object) -> object:
    # `cpu: 2` in YAML is an int; Kubernetes accepts it, so we do too, as the string "2".
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, "g")
    return value


Quantity = Annotated[
    str,
    BeforeValidator(_number_to_text),
    AfterValidator(_quantity),
    Field(examples=["500m", "2", "1Gi"]),
]
