"""`python -m plugins.apa SOCKET_FD TABLE_FD`: the scaler's sampler process (`worker.py`).

Started by `knobless scaler` itself, never by hand.
"""

import sys
import types
from pathlib import Path


def _light_compiler_package() -> None:
    """Make `import compiler.errors` (config.py's one need) load that module alone: the
    package's __init__ imports the whole compiler (pydantic, jsonschema, the Kubernetes client),
    23 MB this process never uses. Installed before anything imports `compiler`."""
    package = types.ModuleType("compiler")
    package.__path__ = [str(Path(__file__).resolve().parents[2] / "compiler")]
    sys.modules.setdefault("compiler", package)


if __name__ == "__main__":
    _light_compiler_package()
    from plugins.apa.worker import main

    sys.exit(main(sys.argv[1:]))
