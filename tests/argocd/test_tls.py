"""TLS for real: the fake Argo CD served over HTTPS on loopback with a throw-away certificate."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from compiler.argocd import errors
from compiler.argocd.client import ArgoCDClient
from tests.argocd.fake_argocd import TOKEN, FakeArgoCD, application


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_server(tmp_path: Path, fake: FakeArgoCD) -> Iterator[tuple[str, Path]]:
    cert, key = _certificate(tmp_path)

    class Bridge(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(
                self.command,
                f"https://127.0.0.1{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length),
            )
            answer = fake.handle(request)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_DELETE = _forward

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bridge)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_unknown_certificate_is_refused_with_a_hint(
    https_server: tuple[str, Path], sleeps: list[float]
) -> None:
    url, _cert = https_server
    client = ArgoCDClient(server=url, token=TOKEN, sleep=sleeps.append)
    with client, pytest.raises(errors.ConnectionFailed) as caught:
        client.get_application("dev-fraud-scorer", project="model-serving")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert "pass --ca-file with the server's CA, or --insecure" in str(caught.value)
    assert caught.value.exit_code == 3


def test_ca_file_or_insecure_connect(https_server: tuple[str, Path], fake: FakeArgoCD) -> None:
    url, cert = https_server
    fake.add(application("dev-fraud-scorer"))
    with ArgoCDClient(server=url, token=TOKEN, ca_file=str(cert)) as client:
        assert client.sync("dev-fraud-scorer", project="model-serving").operation is not None
    with ArgoCDClient(server=url, token=TOKEN, insecure=True) as client:
        assert client.get_application("dev-fraud-scorer", project="model-serving").name
    assert fake.requests[0].headers["content-type"] == "application/json"
