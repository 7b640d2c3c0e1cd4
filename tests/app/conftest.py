"""The app tests stay offline and fast: the demo's real recordings (Debian packages fetched
with apt-get on a first launch) are off unless a test turns them on with its own packages."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_demo(monkeypatch):
    monkeypatch.setenv("TTMRPP_REAL_DEMO", "0")
