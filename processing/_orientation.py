"""Per-sensor 6-axis orientation with VQF, streaming, robust to gaps.

Why VQF (Laidig & Seel 2023, doi:10.1016/j.inffus.2022.10.014): it estimates the
gyroscope offset both at rest and in motion (cheap sensors start with several deg/s),
initialises the inclination from the first accelerometer sample, and is the most
accurate published 6D filter on the BROAD benchmark (docs/orientation.md). Its batch
call runs the same per-sample C++ code as its streaming call, so a chunked run equals
a batch run.

Only inclination matters to squatsense (every angle is heading-free), so after a long
gap the filter is simply restarted from the accelerometer, keeping its bias estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from vqf import VQF

from processing._timebase import GridChunk
from processing.consts import Placement


def quat_rotate(q_xyzw: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate vectors by unit quaternions.

    Parameters
    ----------
    q_xyzw : ndarray, shape (N, 4)
        ``q_world_from_sensor``, scalar last.
    v : ndarray, shape (3,) or (N, 3)
        Vectors in the sensor frame.

    Returns
    -------
    ndarray, shape (N, 3)
        The vectors in the world frame (NaN where the quaternion is NaN).
    """
    x, y, z, w = q_xyzw[:, 0], q_xyzw[:, 1], q_xyzw[:, 2], q_xyzw[:, 3]
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), (q_xyzw.shape[0], 3))
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    # t = 2 u × v ; v' = v + w t + u × t  (u = x, y, z). Written out: np.cross on short
    # arrays spends most of its time on axis bookkeeping, and this runs on every tick.
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    out = np.empty((q_xyzw.shape[0], 3))
    out[:, 0] = vx + w * tx + (y * tz - z * ty)
    out[:, 1] = vy + w * ty + (z * tx - x * tz)
    out[:, 2] = vz + w * tz + (x * ty - y * tx)
    return out


class OrientationTracker:
    """One VQF per sensor, fed grid chunks.

    Parameters
    ----------
    placements : sequence of Placement
    fs_hz : float
        Grid rate, Hz.
    bias_clip_dps : float
        Largest gyroscope offset VQF may estimate, deg/s (VQF's default is 2 deg/s,
        too small for MPU-6050-class parts). Rest detection is also only possible
        while the offset is inside this clip.
    """

    def __init__(
        self,
        placements: Sequence[Placement],
        fs_hz: float,
        bias_clip_dps: float,
        initial_bias_rps: dict[Placement, NDArray[np.float64]] | None = None,
    ):
        self._ts = 1.0 / fs_hz
        self._clip = float(bias_clip_dps)
        self._filters: dict[Placement, VQF | None] = {p: None for p in placements}
        initial = initial_bias_rps or {}
        self._bias: dict[Placement, NDArray[np.float64]] = {
            p: np.asarray(initial.get(p, np.zeros(3)), dtype=np.float64) for p in placements
        }

    def _new_filter(self, placement: Placement) -> VQF:
        f = VQF(self._ts, biasClip=self._clip)
        bias = self._bias[placement]
        if np.any(bias):
            # The offset measured in quiet standing, or learned before a gap: start from it,
            # with the uncertainty of a short static average, 0.3 deg/s (sigma in rad/s).
            clip = np.deg2rad(self._clip)
            f.setBiasEstimate(np.clip(bias, -clip, clip), np.deg2rad(0.3))
        return f

    def update(self, chunk: GridChunk) -> dict[Placement, NDArray[np.float64]]:
        """Orientation of every sensor on the chunk's grid points.

        Returns
        -------
        dict of Placement to ndarray, shape (K, 4)
            ``q_world_from_sensor`` (x, y, z, w); NaN where the sensor is missing.
        """
        out: dict[Placement, NDArray[np.float64]] = {}
        n = len(chunk)
        for p, filt in self._filters.items():
            valid = chunk.valid[p]
            if n and filt is not None and valid.all():  # the common case: no gap
                out[p] = self._run(filt, chunk, p, 0, n)
                continue
            q = np.full((n, 4), np.nan)
            if filt is not None and n and not valid[0]:
                self._retire(p, filt)  # a gap starts here
                filt = None
            edges = np.flatnonzero(np.diff(np.concatenate([[False], valid, [False]])))
            for start, stop in zip(edges[::2], edges[1::2], strict=True):
                # A run after a gap restarts the filter (keeping its offset estimate).
                if filt is None or start > 0:
                    filt = self._new_filter(p)
                q[start:stop] = self._run(filt, chunk, p, start, stop)
                if stop < n:
                    self._retire(p, filt)
                    filt = None
            self._filters[p] = filt
            out[p] = q
        return out

    def _run(self, filt: VQF, chunk: GridChunk, p: Placement, start: int, stop: int) -> NDArray:
        res = filt.updateBatch(
            np.ascontiguousarray(chunk.gyr_rps[p][start:stop]),
            np.ascontiguousarray(chunk.acc_mps2[p][start:stop]),
        )
        return res["quat6D"][:, [1, 2, 3, 0]]

    def _retire(self, p: Placement, filt: VQF) -> None:
        """A gap begins: keep the filter's offset estimate for the restart after it."""
        self._bias[p] = np.asarray(filt.getBiasEstimate()[0], dtype=np.float64)

    def bias_rps(self, placement: Placement) -> NDArray[np.float64]:
        """Current gyroscope offset estimate of one sensor, rad/s, shape (3,)."""
        return self._bias[placement].copy()
