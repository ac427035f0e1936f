"""Shared fixtures: simulated sessions (cached per test run) and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator import SimulatedSession, SimulationConfig, simulate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

_cache: dict[str, SimulatedSession] = {}


def simulated(config: SimulationConfig) -> SimulatedSession:
    """Simulate once per configuration per test run (simulation takes ~2 s)."""
    key = repr(config)  # configs may hold a mapping of rates, so key by their repr
    if key not in _cache:
        _cache[key] = simulate(config)
    return _cache[key]


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping (or failing under CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        msg = f"{path} is absent: the shared data folder sits beside the project checkout"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " and CI must have it")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def default_session() -> SimulatedSession:
    return simulated(SimulationConfig())
