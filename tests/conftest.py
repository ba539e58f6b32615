"""Shared fixtures: the ../shared corpus (skipped when absent, required under CI=true) and offline HF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV = SHARED / "corpus" / "dev"


def require_shared() -> Path:
    """The ../shared folder, or a skip (a user's clone) - but a failure in CI, where it must be present."""
    if (DEV / "gold").is_dir():
        return SHARED
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {SHARED} is missing: the shared corpus must sit beside the checkout")
    pytest.skip("../shared is not present (a user's clone)")


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture
def dev_dir() -> Path:
    return require_shared() / "corpus" / "dev"


@pytest.fixture(autouse=True)
def _offline_hf(tmp_path_factory, monkeypatch):
    """Hugging Face code never touches the network and never sees a cache from another test."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
