"""Heading-free segment angles from orientation and calibration (docs/conventions.md)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from processing._orientation import quat_rotate


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
    v = quat_rotate(q_world_from_sensor, vertical_sensor)
    a = quat_rotate(q_world_from_sensor, flexion_axis_sensor)
    a[:, 2] = 0.0
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    # A flexion axis pointing straight up (segment lying on its side) has no
    # horizontal direction: the sagittal plane is undefined there.
    a = np.divide(a, norm, out=np.full_like(a, np.nan), where=norm > 1e-6)
    # f = a_h × z = (a_y, -a_x, 0)
    forward = v[:, 0] * a[:, 1] - v[:, 1] * a[:, 0]
    incl = np.arctan2(forward, v[:, 2])
    lat = np.arcsin(np.clip(v[:, 0] * a[:, 0] + v[:, 1] * a[:, 1], -1.0, 1.0))
    return incl, lat
