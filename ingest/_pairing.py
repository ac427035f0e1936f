"""The pairing file: which sensor is strapped where, per user.

A small JSON file in the user's config directory (``platformdirs``: on Linux
``~/.config/squatsense/sensors.json``)::

    {
      "version": 1,
      "sensors": {
        "sacrum":    {"address": "C4:7F:51:0A:11:02", "name": "ss-1102", "kind": "squatsense"},
        "shin_left": {"address": "E8:9A:2C:44:70:1B", "name": "WT901BLE68", "kind": "witmotion"}
      }
    }

It is written atomically (temporary file, then rename), so a crash never leaves half a
file. Sensors that store their placement in flash need no entry.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import platformdirs

from ingest._ble import BleBackends, BleParams, BleSource, FoundSensor, PairedSensor, SensorKind
from ingest._errors import PairingError
from ingest._items import SensorBatch
from ingest._source import SourceParams
from processing import Placement

_VERSION = 1


def pairing_path() -> Path:
    """The per-user pairing file (``SQUATSENSE_CONFIG_DIR`` overrides the directory)."""
    base = os.environ.get("SQUATSENSE_CONFIG_DIR") or platformdirs.user_config_dir("squatsense")
    return Path(base) / "sensors.json"


def load_pairing(path: str | os.PathLike[str] | None = None) -> dict[Placement, PairedSensor]:
    """Read the pairing file; an absent file is an empty pairing.

    Raises
    ------
    PairingError
        If the file exists but is not a valid pairing file (the message says where).
    """
    p = Path(path) if path is not None else pairing_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise PairingError(str(p), f"cannot read: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PairingError(str(p), f"not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        raise PairingError(str(p), f"expected {{'version': {_VERSION}, 'sensors': {{...}}}}")
    sensors = doc.get("sensors")
    if not isinstance(sensors, dict):
        raise PairingError(str(p), "'sensors' must be an object of placement: sensor")
    out: dict[Placement, PairedSensor] = {}
    for key, entry in sensors.items():
        try:
            placement = Placement(key)
        except ValueError:
            names = ", ".join(Placement)
            raise PairingError(str(p), f"unknown placement {key!r} (expected {names})") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            raise PairingError(str(p), f"{key}: expected an object with a string 'address'")
        try:
            kind = SensorKind(entry.get("kind", SensorKind.SQUATSENSE))
        except ValueError:
            raise PairingError(str(p), f"{key}: unknown kind {entry.get('kind')!r}") from None
        name = entry.get("name")
        out[placement] = PairedSensor(
            placement, entry["address"], name if isinstance(name, str) else None, kind
        )
    return {pl: out[pl] for pl in Placement if pl in out}


def save_pairing(
    pairing: Mapping[Placement, PairedSensor], path: str | os.PathLike[str] | None = None
) -> Path:
    """Write the pairing file atomically; return its path.

    Raises
    ------
    PairingError
        If it cannot be written.
    """
    p = Path(path) if path is not None else pairing_path()
    doc = {
        "version": _VERSION,
        "sensors": {
            str(pl): {"address": s.address, "name": s.name, "kind": str(s.kind)}
            for pl, s in sorted(pairing.items(), key=lambda kv: list(Placement).index(kv[0]))
        },
    }
    tmp = p.with_name(p.name + ".tmp")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, p)
    except OSError as exc:
        raise PairingError(str(p), f"cannot write: {exc.strerror or exc}") from exc
    return p


async def identify_moving(
    candidates: list[FoundSensor],
    *,
    duration_s: float = 5.0,
    ble: BleParams | None = None,
    backends: BleBackends | None = None,
) -> FoundSensor | None:
    """Stream from up to four candidates and return the one being moved.

    The user moves (taps, shakes, rotates) one sensor while the others rest; the one
    whose angular rate has by far the most energy (3 × the runner-up) is it.

    Returns
    -------
    FoundSensor or None
        None if no sensor stood out (nobody moved, or two did).
    """
    if not 1 <= len(candidates) <= len(Placement):
        raise ValueError(f"expected 1 to {len(Placement)} candidates, got {len(candidates)}")
    slots = dict(zip(Placement, candidates, strict=False))
    sensors = [PairedSensor(p, c.address, c.name, c.kind) for p, c in slots.items()]
    energy = dict.fromkeys(slots, 0.0)
    source = BleSource(sensors, ble=ble, backends=backends, params=SourceParams())

    async def collect() -> None:
        async for item in source:
            if isinstance(item, SensorBatch):
                gyr = item.samples.gyr_rps
                energy[item.placement] += float(np.sum((gyr - gyr.mean(axis=0)) ** 2))

    async with source:
        try:
            async with asyncio.timeout(duration_s):
                await collect()
        except TimeoutError:
            pass
    ranked = sorted(energy.items(), key=lambda kv: -kv[1])
    if ranked[0][1] <= 0 or (len(ranked) > 1 and ranked[0][1] < 3.0 * ranked[1][1]):
        return None
    return slots[ranked[0][0]]
