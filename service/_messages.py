"""The live WebSocket messages: JSON text built from processing and ingest events.

Every message is a JSON object with a ``type``: ``angles``, ``bottom``, ``rep``,
``rep_cancelled``, ``cue``, ``sensor`` or ``status`` (fields in docs/api.md). Angles
are in degrees, times in seconds of session time; unknown values are ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ingest import StatusEvent as SensorStatus
from processing import ANGLE_COLUMNS

_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def encode(doc: Mapping[str, object]) -> str:
    """Compact JSON text (NaN is refused: every builder turns it into null first)."""
    return _encoder.encode(doc)


def angles_message(time_s: NDArray[np.float64], angles: NDArray[np.float64]) -> str:
    """An ``angles`` frame: ``time_s`` and the six angles as parallel lists.

    Parameters
    ----------
    time_s : ndarray, shape (K,)
        Session time, s.
    angles : ndarray, shape (K, 6)
        ``ANGLE_COLUMNS`` in deg, NaN where unknown.
    """
    doc: dict[str, object] = {"type": "angles", "time_s": np.round(time_s, 3).tolist()}
    # One rounding for the whole table (this runs for every frame to every client).
    columns = np.round(angles, 2).T.tolist()
    for column, values in zip(ANGLE_COLUMNS, columns, strict=True):
        doc[column] = [None if math.isnan(v) else v for v in values]
    return encode(doc)


def sensor_message(event: SensorStatus) -> str:
    """A ``sensor`` message from an ingest status event."""
    value = event.value
    return encode(
        {
            "type": "sensor",
            "kind": str(event.kind),
            "placement": None if event.placement is None else str(event.placement),
            "message": event.message,
            "t_s": round(event.time_s, 3),
            "value": None if value is None or not math.isfinite(value) else value,
        }
    )
