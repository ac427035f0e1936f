"""Data types at the boundary of the processing core."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class ImuSamples:
    """Samples of one 6-axis IMU on the session's common clock.

    Attributes
    ----------
    time_s : ndarray, shape (N,)
        Sampling instants in s on the session clock, strictly increasing. Gaps (lost
        samples) are simply missing rows.
    acc_mps2 : ndarray, shape (N, 3)
        Specific force in m/s² in the sensor frame (about +9.81 along the axis
        pointing up at rest).
    gyr_rps : ndarray, shape (N, 3)
        Angular rate in rad/s in the sensor frame.
    """

    time_s: NDArray[np.float64]
    acc_mps2: NDArray[np.float64]
    gyr_rps: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = self.time_s.shape[0]
        if self.time_s.ndim != 1:
            raise ValueError(f"time_s must have shape (N,), got {self.time_s.shape}")
        for name in ("acc_mps2", "gyr_rps"):
            shape = getattr(self, name).shape
            if shape != (n, 3):
                raise ValueError(f"{name} must have shape ({n}, 3), got {shape}")

    def __len__(self) -> int:
        return int(self.time_s.shape[0])
