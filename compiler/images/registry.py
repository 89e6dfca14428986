"""Reading a model's files from an MLflow tracking server over its REST API (httpx; knobless
does not depend on the mlflow package).

Model URIs are resolved as MLflow resolves them: `models:/<name>/<version>`, `models:/<name>@<alias>`,
`models:/<name>/latest` and `models:/<name>/<stage>` through the model registry, `models:/m-<id>`
(a logged model), `runs:/<run-id>/<path>`, and `mlflow-artifacts:/<path>`. Files are read through
the server's artifact proxy (`mlflow server` with artifact serving, the default): an artifact
store the server does not proxy (s3://, gs://, ...) is refused with that explanation.

The token comes from MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME/PASSWORD), as for the
mlflow client; it is never written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from compiler.errors import ImagesError
from compiler.images.dependencies import MODEL_FILES

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>[^/]+)$")
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")
_LOGGED_URI = re.compile(r"^models:/(?P<id>m-[0-9a-f]+)$")
_RUN_URI = re.compile(r"^runs:/(?P<run>[^/]+)/(?P<path>.+)$")


class ModelNotFound(LookupError):
    """The registry answered, and has no such model (message: what it said)."""


@dataclass(frozen=True)
class ModelFiles:
    version: str | None
    """The registry version the URI named or pointed to (None: not a registry URI)."""
    files: Mapping[str, str]
    """MLmodel, python_env.yaml, requirements.txt, conda.yaml, constraints.txt: those it has."""


def credentials_from_environment() -> httpx.Auth | None:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return _Bearer(token)
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    return httpx.BasicAuth(user, password or "") if user else None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class RegistryClient:
    """One tracking server. `transport` lets tests hand in an httpx transport."""

    def __init__(
        self,
        url: str,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url, auth=auth, transport=transport, timeout=timeout
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise ImagesError(
                f"the MLflow registry at {self.url} cannot be reached ({error.__class__.__name__}: "
                f"{error}); check the environment's mlflow.trackingUri (or mlflow.externalUri, "
                "its address from where this runs) and that the server is up. Nothing was written."
            ) from None
        if response.status_code in (401, 403):
            raise ImagesError(
                f"the MLflow registry at {self.url} refused the request ({response.status_code}): "
                "set MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD) to credentials that may read models. Nothing was written."
            )
        return response

    def _json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        response = self._get(f"{API}{path}", params)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        code = body.get("error_code", response.status_code) if isinstance(body, dict) else ""
        message = body.get("message", response.text[:200]) if isinstance(body, dict) else ""
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", 404):
            raise ModelNotFound(f"{code}: {message}")
        raise ImagesError(
            f"the MLflow registry at {self.url} answered {response.status_code} to {path} "
            f"({code}: {message}). Nothing was written."
        )

    def _version_uri(self, name: str, version: str) -> str:
        body = self._json("/model-versions/get-download-uri", {"name": name, "version": version})
        return str(body["artifact_uri"])

    def _artifact_location(self, uri: str) -> tuple[str | None, str]:
        """(registry version, artifact URI) of a model URI."""
        if match := _LOGGED_URI.match(uri):
            body = self._json(f"/logged-models/{match['id']}", {})
            info = body.get("model", {})
            return None, str(info["info"]["artifact_uri"])
        if match := _ALIAS_URI.match(uri):
            body = self._json(
                "/registered-models/alias", {"name": match["name"], "alias": match["alias"]}
            )
            version = str(body["model_version"]["version"])
            return version, self._version_uri(match["name"], version)
        if match := _VERSION_URI.match(uri):
            name, version = match["name"], match["version"]
            if not version.isdigit():  # latest, or a stage (Production, Staging)
                version = self._latest(name, version)
            return version, self._version_uri(name, version)
        if match := _RUN_URI.match(uri):
            body = self._json("/runs/get", {"run_id": match["run"]})
            base = str(body["run"]["info"]["artifact_uri"])
            return None, f"{base.rstrip('/')}/{match['path']}"
        if uri.startswith("mlflow-artifacts:"):
            return None, uri
        raise ModelNotFound(
            "knobless reads model files through the tracking server: use a models:/, runs:/ "
            "or mlflow-artifacts:/ URI (a direct store URI such as s3:// is not supported)"
        )

    def _latest(self, name: str, which: str) -> str:
        stages = {} if which.lower() == "latest" else {"stages": which}
        body = self._json("/registered-models/get-latest-versions", {"name": name, **stages})
        versions = [int(v["version"]) for v in body.get("model_versions", [])]
        if not versions:
            raise ModelNotFound(f"registered model {name} has no version in {which}")
        return str(max(versions))

    def _artifact_path(self, artifact_uri: str) -> str:
        parsed = urlparse(artifact_uri)
        if parsed.scheme != "mlflow-artifacts":
            raise ImagesError(
                f"the registry at {self.url} keeps this model at {artifact_uri}, which it does "
                "not proxy: knobless reads model files through the tracking server (run it with "
                "artifact serving, `mlflow server --serve-artifacts`, the default). Nothing was written."
            )
        return parsed.path.strip("/")

    def model_files(self, uri: str) -> ModelFiles:
        """The files of a model that say what it needs; ModelNotFound when there is no such
        model, ImagesError when the server cannot be read."""
        version, artifact_uri = self._artifact_location(uri)
        path = self._artifact_path(artifact_uri)
        listing = self._get(ARTIFACTS, {"path": path})
        if listing.status_code != 200:
            raise ModelNotFound(
                f"its artifacts at {artifact_uri} cannot be listed ({listing.status_code})"
            )
        present = {
            str(entry["path"]).rsplit("/", 1)[-1]
            for entry in listing.json().get("files", [])
            if not entry.get("is_dir")
        }
        files = {}
        for name in MODEL_FILES:
            if name in present:
                response = self._get(f"{ARTIFACTS}/{quote(path)}/{name}")
                if response.status_code != 200:
                    raise ImagesError(
                        f"the registry at {self.url} listed {artifact_uri}/{name} but answered "
                        f"{response.status_code} when it was read. Nothing was written."
                    )
                files[name] = response.text
        return ModelFiles(version, files)
