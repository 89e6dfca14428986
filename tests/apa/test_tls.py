"""mTLS between KEDA and the scaler: certificates made with the openssl command, a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from plugins.apa.proto import externalscaler_pb2 as pb
from plugins.apa.proto import externalscaler_pb2_grpc as pb_grpc

from .conftest import ScalerProcess
from .test_server import metadata


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(root: Path) -> None:
    if shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the openssl command is needed to make test certificates")
        pytest.skip("the openssl command is needed to make test certificates")
    days = ["-days", "2"]
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-subj", "/CN=test-ca", *days, cwd=root)  # fmt: skip
    (root / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={name}", cwd=root)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", *days, *ext, cwd=root)  # fmt: skip


def test_mtls_accepts_keda_with_its_client_certificate_only(
    tmp_path: Path, scalers: list[ScalerProcess]
) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki)
    scaler = ScalerProcess(tmp_path / "scaler", "http://127.0.0.1:9")  # no Prometheus needed
    scaler.tls = (pki / "server.crt", pki / "server.key", pki / "ca.crt")
    ca = (pki / "ca.crt").read_bytes()
    trusted = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=(pki / "client.key").read_bytes(),
        certificate_chain=(pki / "client.crt").read_bytes(),
    )
    scaler.credentials = trusted
    scalers.append(scaler)
    scaler.start()  # its health check already went through mTLS
    md = metadata("t-tls", "m-v1")
    ref = pb.ScaledObjectRef(name="m-v1", namespace="t-tls", scalerMetadata=md)

    with grpc.secure_channel(scaler.address, trusted) as channel:
        spec = pb_grpc.ExternalScalerStub(channel).GetMetricSpec(ref, timeout=10)
        assert spec.metricSpecs[0].metricName == "apa-replicas-m-v1"

    anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
    with grpc.secure_channel(scaler.address, anonymous) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            pb_grpc.ExternalScalerStub(channel).GetMetricSpec(ref, timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # handshake refused
