"""Shared fixtures: paths to ../shared (skipping when absent) and small generated audio."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The development data folder beside the checkout; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED} (development data; not needed by the product)")
    return SHARED
