"""The processing core: pure computation, no I/O, no BLE, no web.

Public names are re-exported here; implementation lives in private modules.
"""

from processing._types import ImuSamples
from processing.consts import (
    ANGLE_COLUMNS,
    GRAVITY_MPS2,
    PLACEMENTS,
    RECORDING_COLUMNS,
    REQUIRED_PLACEMENTS,
    Placement,
)

__all__ = [
    "ANGLE_COLUMNS",
    "GRAVITY_MPS2",
    "PLACEMENTS",
    "RECORDING_COLUMNS",
    "REQUIRED_PLACEMENTS",
    "ImuSamples",
    "Placement",
]
