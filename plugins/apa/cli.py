"""`knobless scaler`: run the APA external scaler (a plugin command)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from compiler import hookimpl
from compiler.errors import KnoblessError, UsageError
from compiler.extras import require_extra


@hookimpl
def knobless_add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "scaler",
        help="run the APA external scaler (KEDA gRPC)",
        description="Serve KEDA's external scaler protocol: replicas needed per ScaledObject, "
        "from Prometheus signals sampled in the background.",
    )
    parser.add_argument("--listen", required=True, metavar="HOST:PORT", help="gRPC address")
    parser.add_argument("--prometheus", required=True, metavar="URL", help="Prometheus base URL")
    parser.add_argument("--state", type=Path, metavar="PATH", help="persist learned targets here")
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help="YAML: timings, thresholds, queries"
    )
    parser.add_argument(
        "--queries", type=Path, metavar="PATH", help="JSON/YAML map of signal -> PromQL overrides"
    )
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="server private key")
    parser.add_argument(
        "--tls-client-ca", type=Path, metavar="PEM", help="CA of client certificates (mTLS)"
    )
    parser.add_argument(
        "--metrics-listen", metavar="HOST:PORT", help="serve /metrics and /healthz (plain HTTP)"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    parser.set_defaults(handler=run_scaler)


def _is_address(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 <= int(port) <= 65535


def run_scaler(args: argparse.Namespace) -> int:
    require_extra("scaler", "scaler")
    from plugins.apa.config import load_config
    from plugins.apa.errors import ConfigError, StateError
    from plugins.apa.server import ServerOptions, TLSFiles, run

    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("scaler: --tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise UsageError("scaler: --tls-client-ca needs --tls-cert and --tls-key")
    for flag, address in (("--listen", args.listen), ("--metrics-listen", args.metrics_listen)):
        if address is not None and not _is_address(address):
            raise UsageError(f"scaler: {flag} {address!r}: expected HOST:PORT")
    for path in (args.tls_cert, args.tls_key, args.tls_client_ca):
        if path is not None and not path.is_file():
            raise UsageError(f"scaler: {path}: no such file")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    tls = None
    if args.tls_cert is not None:
        tls = TLSFiles(args.tls_cert, args.tls_key, args.tls_client_ca)
    try:
        config = load_config(args.config, args.queries)
    except ConfigError as error:  # the scaler's own tree, mapped at the command's boundary
        raise KnoblessError(str(error)) from None
    options = ServerOptions(
        listen=args.listen,
        prometheus_url=args.prometheus,
        config=config,
        state_path=args.state,
        tls=tls,
        metrics_listen=args.metrics_listen,
        log_level=args.log_level,
    )
    try:
        return run(options)
    except StateError as error:
        print(f"knobless scaler: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"knobless scaler: {error}", file=sys.stderr)
        return 1
