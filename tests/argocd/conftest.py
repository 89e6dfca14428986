from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler.argocd.client import ArgoCDClient
from tests.argocd.fake_argocd import TOKEN, FakeArgoCD

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeArgoCD]:
    server = FakeArgoCD()
    yield server
    # Every request the client sent and every answer the fake gave kept to the published API.
    assert server.violations == []


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake: FakeArgoCD, sleeps: list[float]) -> Iterator[ArgoCDClient]:
    with ArgoCDClient(
        server="https://argocd.example.com",
        token=TOKEN,
        transport=fake.transport(),
        sleep=sleeps.append,
    ) as argocd:
        yield argocd
