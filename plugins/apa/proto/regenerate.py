"""Regenerate the Python modules of externalscaler.proto (needs grpcio-tools, a dev dependency).

    python -m plugins.apa.proto.regenerate [OUT_ROOT]

Writes plugins/apa/proto/externalscaler_pb2.py, _pb2_grpc.py and _pb2.pyi under OUT_ROOT (the
repository root by default). Run from the repository root: import paths in the generated code
follow the proto's path relative to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO = "plugins/apa/proto/externalscaler.proto"
REPO_ROOT = Path(__file__).resolve().parents[3]


def regenerate(out_root: Path, repo_root: Path = REPO_ROOT) -> int:
    from grpc_tools import protoc  # dev dependency: imported only when regenerating

    out_root.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={repo_root}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        str(repo_root / PROTO),
    ]
    return int(protoc.main(args))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return regenerate(Path(argv[0]) if argv else REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main())
