"""Build a source from a plain spec (a dict from a config file, a query, a form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest._errors import SourceSpecError
from ingest._simulated import check_speed
from ingest._source import SensorSource

_KEYS: dict[str, frozenset[str]] = {
    "simulated": frozenset({"kind", "profile", "speed", "seed", "duration_s"}),
    "replay": frozenset({"kind", "path", "speed"}),
    "ble": frozenset({"kind", "pairing_path"}),
    "relay": frozenset({"kind"}),
}


def open_source(spec: Mapping[str, Any]) -> SensorSource:
    """Build a source from a spec; the one place where a source kind is chosen.

    Parameters
    ----------
    spec : mapping
        One of::

            {"kind": "simulated", "profile": "default", "speed": 1.0}   # also "seed", "duration_s"
            {"kind": "replay", "path": "rec.csv", "speed": 1.0}         # CSV or raw frame log
            {"kind": "ble"}                                             # also "pairing_path"
            {"kind": "relay"}                                           # fed by the service

        ``speed``: 1 = real time, 0 = as fast as possible (default 1).

    Returns
    -------
    SensorSource
        Not yet entered.

    Raises
    ------
    SourceSpecError
        One line naming the bad entry and what was expected: not a mapping, unknown
        kind, unknown or missing key, bad value (speed, profile, path).
    """
    if not isinstance(spec, Mapping):
        raise SourceSpecError(f"expected a mapping with a 'kind', got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in _KEYS:
        raise SourceSpecError(
            f"expected one of {', '.join(repr(k) for k in _KEYS)}, got {kind!r}", key="kind"
        )
    unknown = sorted(set(spec) - _KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_KEYS[kind]))
        raise SourceSpecError(
            f"unknown for kind {kind!r} (allowed: {allowed})", key=str(unknown[0])
        )
    speed = check_speed(spec.get("speed", 1.0))
    if kind == "simulated":
        from ingest._simulated import SimulatedSource

        profile = spec.get("profile", "default")
        if not isinstance(profile, str):
            raise SourceSpecError(f"expected a profile name, got {profile!r}", key="profile")
        seed = spec.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SourceSpecError(f"expected an integer, got {seed!r}", key="seed")
        duration = spec.get("duration_s")
        if duration is not None:
            check_speed(duration, "duration_s")
        return SimulatedSource(profile, seed, speed, duration_s=duration)
    if kind == "replay":
        from ingest._replay import ReplaySource

        path = spec.get("path")
        if not isinstance(path, str) or not path:
            raise SourceSpecError(f"expected a file path, got {path!r}", key="path")
        try:
            return ReplaySource(path, speed)
        except OSError as exc:
            raise SourceSpecError(
                f"cannot open {path!r}: {exc.strerror or exc}", key="path"
            ) from exc
    if kind == "ble":
        from ingest._ble import BleSource

        return BleSource(pairing_path=spec.get("pairing_path"))
    from ingest._relay import RelaySource

    return RelaySource()
