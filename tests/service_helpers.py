"""Helpers for the service tests: an app on a temporary data dir, fast simulated sources."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ingest import SensorSource, SimulatedSource, open_source
from service import Settings, create_app
from simulator import SimulatedSession

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def cached_factory(session: SimulatedSession):
    """open_source, but a simulated default athlete (seed 0) reuses `session` (no 2 s
    simulation per request); every spec is still validated by open_source."""

    def factory(spec: Mapping[str, Any]) -> SensorSource:
        source = open_source(spec)
        if isinstance(source, SimulatedSource) and spec.get("profile", "default") == "default":
            if spec.get("seed", 0) == 0:
                return SimulatedSource(
                    session=session, speed=source.speed, duration_s=source.duration_s
                )
        return source

    return factory


def make_app(data_dir: Path, session: SimulatedSession | None = None, **settings: Any):
    """The service on `data_dir`, token TOKEN."""
    return create_app(
        Settings(data_dir=data_dir, token=SecretStr(TOKEN), **settings),
        source_factory=cached_factory(session) if session is not None else None,
    )


def simulated(speed: float = 0.0, **extra: Any) -> dict[str, Any]:
    """A session body for the simulated default athlete."""
    return {"athlete": "Ada", "source": {"kind": "simulated", "speed": speed, **extra}}
