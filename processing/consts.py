"""Constants shared across squatsense: placements, column names, gravity.

Every name here is part of a public format (the recording CSV, the angles CSV, the
reps CSV) or a physical constant. Frames, axes and signs are fixed in
``docs/conventions.md``.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

#: Standard gravity in m/s² (ISO 80000-3). Used by the simulator and as the
#: expected accelerometer norm at rest.
GRAVITY_MPS2: float = 9.80665

#: Gravity as a read-only vector in the world frame (z up, see docs/conventions.md),
#: m/s². An accelerometer at rest reads ``-GRAVITY_WORLD`` rotated into its frame:
#: +9.81 along the axis pointing up.
GRAVITY_WORLD_MPS2: np.ndarray = np.array([0.0, 0.0, -GRAVITY_MPS2])
GRAVITY_WORLD_MPS2.flags.writeable = False


class Placement(StrEnum):
    """Where a sensor is strapped. The values are the names used in every file format."""

    SACRUM = "sacrum"
    LUMBAR = "lumbar"
    SHIN_LEFT = "shin_left"
    SHIN_RIGHT = "shin_right"


#: All placements in their canonical order (the order of columns and of the wire codes).
PLACEMENTS: tuple[Placement, ...] = tuple(Placement)

#: Placements without which no session can be analysed.
REQUIRED_PLACEMENTS: tuple[Placement, ...] = (
    Placement.SACRUM,
    Placement.SHIN_LEFT,
    Placement.SHIN_RIGHT,
)

#: Columns of the recording CSV, in order (a public format, see README and
#: docs/conventions.md). Accelerometer in m/s², gyroscope in deg/s, sensor frame.
RECORDING_COLUMNS: tuple[str, ...] = (
    "time_s",
    "sensor",
    "acc_x",
    "acc_y",
    "acc_z",
    "gyr_x",
    "gyr_y",
    "gyr_z",
)

#: The six angle signals squatsense reports, in degrees, relative to the athlete's
#: quiet standing posture (signs in docs/conventions.md).
ANGLE_COLUMNS: tuple[str, ...] = (
    "pelvic_tilt_deg",
    "lumbar_flexion_deg",
    "ankle_df_left_deg",
    "ankle_df_right_deg",
    "knee_in_left_deg",
    "knee_in_right_deg",
)
