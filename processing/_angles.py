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
def _incl_lat(q, v0, v1, v2, a0, a1, a2):  # pragma: no cover - compiled
    """Inclination and lateral angle (rad) of one sample: see segment_angles_rad."""
    vx, vy, vz = _rotate(q, v0, v1, v2)
    ax, ay, _ = _rotate(q, a0, a1, a2)
    # The flexion axis's horizontal direction; one pointing straight up
    # (segment lying on its side) has none: the sagittal plane is undefined.
    norm = np.sqrt(ax * ax + ay * ay)
    if norm > 1e-6:
        ax, ay = ax / norm, ay / norm
    else:
        ax, ay = np.nan, np.nan
    forward = vx * ay - vy * ax  # f = a_h × z = (a_y, -a_x, 0)
    return np.arctan2(forward, vz), np.arcsin(min(max(vx * ax + vy * ay, -1.0), 1.0))


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
            incl[s, i], lat[s, i] = _incl_lat(
                q[s, i],
                vertical[s, j, 0],
                vertical[s, j, 1],
                vertical[s, j, 2],
                axis[s, m, 0],
                axis[s, m, 1],
                axis[s, m, 2],
            )
    return incl, lat


#: numpy's rad2deg factor (``np.rad2deg(x)`` is ``x * (180 / pi)``, bit for bit).
_DEG = 180.0 / np.pi


@compiled
def _angle_table(q, vertical, axis, roles):  # pragma: no cover - compiled
    """The six reported angles, deg, shape (6, N) in ANGLE_COLUMNS order.

    `q` (S, N, 4), `vertical` and `axis` (S, 3); `roles` the sensor index of the
    sacrum, L1 (-1: none), left and right shank. Per sample, as :func:`_angles` and
    then the arithmetic of ``processing._pipeline.angles_from`` (one call per step).
    """
    n = q.shape[1]
    out = np.empty((6, n))
    sac, lum, left, right = roles[0], roles[1], roles[2], roles[3]
    incl = np.empty(q.shape[0])
    lat = np.empty(q.shape[0])
    for i in range(n):
        for s in range(q.shape[0]):
            incl[s], lat[s] = _incl_lat(
                q[s, i],
                vertical[s, 0],
                vertical[s, 1],
                vertical[s, 2],
                axis[s, 0],
                axis[s, 1],
                axis[s, 2],
            )
        out[0, i] = incl[sac] * _DEG
        out[1, i] = (incl[lum] - incl[sac]) * _DEG if lum >= 0 else np.nan
        out[2, i] = incl[left] * _DEG
        out[3, i] = incl[right] * _DEG
        # Toward the midline: to the right for the left leg, to the left for the right.
        out[4, i] = -(lat[left] * _DEG)
        out[5, i] = lat[right] * _DEG
    return out
