"""Kubernetes quantities ("500m", "2Gi"), parsed by the `kubernetes` client's own parser.

`import kubernetes` imports the whole client (configuration loaders, urllib3, the dynamic
client): about 0.2 s, a fifth of an incremental compile that has nothing else to import. The
parser is one dependency-free module of that package, so it is loaded on its own, from the
installed package's file; the full package is used when that is not possible.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path


def _load_parser() -> Callable[[object], Decimal]:
    spec = importlib.util.find_spec("kubernetes")
    if spec is not None and spec.origin:
        file = Path(spec.origin).parent / "utils" / "quantity.py"
        standalone = importlib.util.spec_from_file_location("_knobless_k8s_quantity", file)
        if standalone is not None and standalone.loader is not None:
            module = importlib.util.module_from_spec(standalone)
            try:
                standalone.loader.exec_module(module)
                parser: Callable[[object], Decimal] = module.parse_quantity
                return parser
            except (ImportError, OSError, AttributeError):
                pass
    from kubernetes.utils import parse_quantity

    return parse_quantity


parse_quantity = _load_parser()
