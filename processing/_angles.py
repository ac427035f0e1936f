"""Heading-free segment angles from orientation and calibration (docs/conventions.md)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from processing._jit import compiled


def segment_angles_rad(
    q_world_from_sensor: NDArray[np.float64],
    vertical_sensor: NDArray[np.float64],
    flexion_axis_sensor: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inclination in, and deviation from, the segment's own sagittal plane.

    Parameters
    ----------
    q_world_from_sensor : ndarray, shape (N, 4)
        Sensor orientation (x, y, z, w); NaN rows give NaN angles.
    vertical_sensor : ndarray, shape (3,) or (N, 3)
        Unit vector, sensor frame, that pointed up in quiet standing.
    flexion_axis_sensor : ndarray, shape (3,) or (N, 3)
        Unit flexion axis, sensor frame, pointing to the athlete's left.

    Returns
    -------
    inclination_rad : ndarray, shape (N,)
        ``atan2(v·f, v·z)``, forward positive, with ``f = a_h × z``.
    lateral_rad : ndarray, shape (N,)
        ``asin(v·a_h)``, positive toward the athlete's left.
    """
    q = np.asarray(q_world_from_sensor, dtype=np.float64)
    v = np.asarray(vertical_sensor, dtype=np.float64).reshape(1, -1, 3)
    a = np.asarray(flexion_axis_sensor, dtype=np.float64).reshape(1, -1, 3)
    if v.shape[1] not in (1, q.shape[0]) or a.shape[1] not in (1, q.shape[0]):
        raise ValueError(
            f"vertical and flexion axis must have shape (3,) or ({q.shape[0]}, 3); "
            f"got {np.shape(vertical_sensor)} and {np.shape(flexion_axis_sensor)}"
        )
    incl, lat = sensor_angles_rad(q[None], v, a)
    return incl[0], lat[0]


def sensor_angles_rad(
    q: NDArray[np.float64], vertical: NDArray[np.float64], axis: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`segment_angles_rad` of several sensors at once.

    `q` has shape (S, N, 4); `vertical` and `axis` (S, 1, 3) (one per sensor) or
    (S, N, 3). Returns inclination and lateral angle, each (S, N), rad.
    """
    # C-contiguous, writeable float64: the one type the loop is compiled for (a
    # read-only array would be another type, compiled again for seconds).
    need = ("C_CONTIGUOUS", "WRITEABLE", "ALIGNED")
    return _angles(
        np.require(q, np.float64, need),
        np.require(vertical, np.float64, need),
        np.require(axis, np.float64, need),
    )


@compiled
def _rotate(q, v0, v1, v2):  # pragma: no cover - compiled
    """``q`` (x, y, z, w) applied to ``v``: v + w t + u × t with t = 2 u × v."""
    x, y, z, w = q[0], q[1], q[2], q[3]
    tx = 2.0 * (y * v2 - z * v1)
    ty = 2.0 * (z * v0 - x * v2)
    tz = 2.0 * (x * v1 - y * v0)
    return (
        v0 + w * tx + (y * tz - z * ty),
        v1 + w * ty + (z * tx - x * tz),
        v2 + w * tz + (x * ty - y * tx),
    )


@compiled
def _angles(q, vertical, axis):  # pragma: no cover - compiled
    # Compiled: a live session computes the angles of a few samples on every step,
    # where a dozen array operations cost their call overhead many times over.
    n_s, n = q.shape[0], q.shape[1]
    incl = np.empty((n_s, n))
    lat = np.empty((n_s, n))
    for s in range(n_s):
        for i in range(n):
            j = i if vertical.shape[1] > 1 else 0
            m = i if axis.shape[1] > 1 else 0
            vx, vy, vz = _rotate(q[s, i], vertical[s, j, 0], vertical[s, j, 1], vertical[s, j, 2])
            ax, ay, _ = _rotate(q[s, i], axis[s, m, 0], axis[s, m, 1], axis[s, m, 2])
            # The flexion axis's horizontal direction; one pointing straight up
            # (segment lying on its side) has none: the sagittal plane is undefined.
            norm = np.sqrt(ax * ax + ay * ay)
            if norm > 1e-6:
                ax, ay = ax / norm, ay / norm
            else:
                ax, ay = np.nan, np.nan
            forward = vx * ay - vy * ax  # f = a_h × z = (a_y, -a_x, 0)
            incl[s, i] = np.arctan2(forward, vz)
            lat[s, i] = np.arcsin(min(max(vx * ax + vy * ay, -1.0), 1.0))
    return incl, lat
