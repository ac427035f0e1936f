"""Rigid-segment body model: drivers in, segment orientations and kinematics out.

Frames (docs/conventions.md): world z up, right-handed; the athlete faces along the
heading, x forward and y to the left in the body frame. Each segment frame is
x forward, y left, z up in the athlete's quiet standing pose. Rotations are
``q_world_from_segment`` (scipy ``Rotation``; quaternions x, y, z, w).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from processing.consts import Placement
from simulator._script import FINE_FS_HZ, Drivers


@dataclass(frozen=True)
class BodyParams:
    """Anthropometry and stance (segment fractions of height from Winter).

    Attributes
    ----------
    height_m : float
        Body height, m. Default 1.75 m.
    stance_width_m : float
        Distance between the ankles, m. Default 0.36 m.
    turnout_deg : tuple of float
        Feet turned out from the heading (left, right), deg. Default 15 deg each.
    """

    height_m: float = 1.75
    stance_width_m: float = 0.36
    turnout_deg: tuple[float, float] = (15.0, 15.0)

    @property
    def shank_m(self) -> float:
        """Shank length (ankle to knee), m."""
        return 0.246 * self.height_m

    @property
    def thigh_m(self) -> float:
        """Thigh length (knee to hip), m."""
        return 0.245 * self.height_m

    @property
    def ankle_height_m(self) -> float:
        """Ankle joint height above the floor, m."""
        return 0.039 * self.height_m


@dataclass(frozen=True)
class SegmentMotion:
    """Kinematics of one instrumented segment on the fine grid.

    Attributes
    ----------
    rot_world_from_segment : Rotation, length N
        Orientation of the segment frame.
    omega_segment_rps : ndarray, shape (N, 3)
        Angular rate of the segment in its own frame, rad/s.
    sensor_acc_world_mps2 : ndarray, shape (N, 3)
        Linear acceleration of the sensor's mounting point, world frame, m/s².
    flexion_axis_segment : ndarray, shape (3,)
        The axis the segment flexes about in the squat, segment frame, pointing left.
    side : int
        +1 left shank, -1 right shank, 0 for trunk segments (midline sign).
    """

    rot_world_from_segment: Rotation
    omega_segment_rps: NDArray[np.float64]
    sensor_acc_world_mps2: NDArray[np.float64]
    flexion_axis_segment: NDArray[np.float64]
    side: int


def _rot(heading: NDArray, roll: NDArray, pitch: NDArray) -> Rotation:
    # Intrinsic Z-X-Y: R = Rz(heading) Rx(roll) Ry(pitch). Pitch about the segment's own
    # left axis comes last so the flexion axis stays horizontal whatever the roll.
    return Rotation.from_euler("ZXY", np.column_stack([heading, roll, pitch]))


def _body_to_world(heading: NDArray, v: NDArray) -> NDArray[np.float64]:
    """Rotate body-frame horizontal vectors (N, 3) by the heading about z."""
    c, s = np.cos(heading), np.sin(heading)
    return np.column_stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1], v[:, 2]])


def angular_rate_body(rot: Rotation, fs_hz: float) -> NDArray[np.float64]:
    """Body-frame angular rate of a densely sampled rotation, rad/s, shape (N, 3).

    Central difference on the rotation group, ``log(R[i-1]^T R[i+1]) / 2h``: second-order
    accurate, so at 1 kHz it is exact to far below any sensor noise.
    """
    n = len(rot)
    out = np.empty((n, 3))
    out[1:-1] = (rot[:-2].inv() * rot[2:]).as_rotvec() * (fs_hz / 2.0)
    out[0] = (rot[0].inv() * rot[1]).as_rotvec() * fs_hz
    out[-1] = (rot[-2].inv() * rot[-1]).as_rotvec() * fs_hz
    return out


def _second_derivative(p: NDArray[np.float64], fs_hz: float) -> NDArray[np.float64]:
    h = 1.0 / fs_hz
    v = np.gradient(p, h, axis=0, edge_order=2)
    return np.gradient(v, h, axis=0, edge_order=2)


def segment_motions(drivers: Drivers, body: BodyParams) -> dict[Placement, SegmentMotion]:
    """Kinematics of the sacrum, L1 and both shank sensors.

    Parameters
    ----------
    drivers : Drivers
        Driver signals on the fine grid.
    body : BodyParams
        Anthropometry and stance.

    Returns
    -------
    dict of Placement to SegmentMotion
    """
    fs = FINE_FS_HZ
    d = drivers
    n = d.time_s.size
    zeros = np.zeros(n)
    heading = d["heading"]
    base = np.column_stack([d["base_x"], d["base_y"], zeros])
    left_axis = np.array([0.0, 1.0, 0.0])
    out: dict[Placement, SegmentMotion] = {}

    knees = []
    for placement, suffix, side in (
        (Placement.SHIN_LEFT, "l", 1),
        (Placement.SHIN_RIGHT, "r", -1),
    ):
        turnout = np.deg2rad(body.turnout_deg[0 if side > 0 else 1]) * side
        # Knee-in is toward the midline: for the left leg a positive roll about x tips
        # the shank to the right (toward the midline), for the right leg the opposite.
        rot = _rot(heading + turnout, side * d[f"knee_in_{suffix}"], d[f"shank_pitch_{suffix}"])
        ankle = base + _body_to_world(
            heading,
            np.column_stack(
                [
                    d[f"foot_dx_{suffix}"],
                    np.full(n, side * body.stance_width_m / 2),
                    body.ankle_height_m + d[f"foot_dz_{suffix}"],
                ]
            ),
        )
        sensor = ankle + rot.apply([0.03, 0.0, 0.55 * body.shank_m])
        knees.append(ankle + rot.apply([0.0, 0.0, body.shank_m]))
        out[placement] = SegmentMotion(
            rot, angular_rate_body(rot, fs), _second_derivative(sensor, fs), left_axis, side
        )

    mid_knee = 0.5 * (knees[0] + knees[1])
    thigh = d["thigh_pitch"]
    hip = mid_knee + _body_to_world(
        heading,
        np.column_stack(
            [-np.sin(thigh) * body.thigh_m, zeros, np.cos(thigh) * body.thigh_m + d["base_z"]]
        ),
    )
    scale = body.height_m / 1.75
    rot_p = _rot(heading, d["pelvis_roll"], d["pelvis_pitch"])
    sacrum = hip + rot_p.apply(np.array([-0.12, 0.0, 0.06]) * scale)
    out[Placement.SACRUM] = SegmentMotion(
        rot_p, angular_rate_body(rot_p, fs), _second_derivative(sacrum, fs), left_axis, 0
    )
    rot_l = _rot(heading, d["pelvis_roll"], d["pelvis_pitch"] + d["lumbar_flexion"])
    l5 = hip + rot_p.apply(np.array([-0.06, 0.0, 0.12]) * scale)
    l1 = l5 + rot_l.apply(np.array([-0.08, 0.0, 0.16]) * scale)
    out[Placement.LUMBAR] = SegmentMotion(
        rot_l, angular_rate_body(rot_l, fs), _second_derivative(l1, fs), left_axis, 0
    )
    return out
