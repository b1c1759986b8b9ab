"""Shared fixtures: paths to ../shared test data and an OpenSearch endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SONTRA_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder with SigmaHQ rules and log samples; skip when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED} (set SONTRA_SHARED_DIR)")
    return SHARED


@pytest.fixture(scope="session")
def opensearch_url_base() -> Iterator[str]:
    """A real OpenSearch when OPENSEARCH_URL is set, else one osmem-server for the session."""
    url = os.environ.get("OPENSEARCH_URL")
    if url:
        yield url
        return
    osmem = pytest.importorskip("osmem_server", reason="osmem-server is not installed")
    with osmem.OsmemServer.start(japanese=False) as server:
        yield server.url
