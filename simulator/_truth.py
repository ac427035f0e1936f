"""Ground truth: the reported angles and per-rep metrics, computed from the model.

The definitions are those of docs/conventions.md, applied to the true segment
orientations. They are written here independently of ``processing`` so that the
simulator can be the oracle of the processing core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from processing.consts import Placement
from simulator._body import SegmentMotion
from simulator._script import FINE_FS_HZ, Drivers, RepRecord

#: Rate of the truth angle series, Hz.
TRUTH_FS_HZ: float = 100.0


def sagittal_angles(
    rot_world_from_segment: Rotation,
    vertical_segment: NDArray[np.float64],
    flexion_axis_segment: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inclination in, and deviation from, a segment's own sagittal plane.

    Parameters
    ----------
    rot_world_from_segment : Rotation, length N
    vertical_segment : ndarray, shape (3,)
        The segment-fixed unit vector that was vertical in quiet standing.
    flexion_axis_segment : ndarray, shape (3,)
        The segment-fixed unit axis of flexion, pointing to the athlete's left.

    Returns
    -------
    inclination_rad : ndarray, shape (N,)
        ``atan2(v·f, v·z)``: the standing vertical projected on the sagittal plane,
        forward positive. ``f = a_h × z`` with ``a_h`` the flexion axis made horizontal.
    lateral_rad : ndarray, shape (N,)
        ``asin(v·a_h)``: angle between the standing vertical and the sagittal plane,
        positive toward the athlete's left.
    """
    v = rot_world_from_segment.apply(vertical_segment)
    a = rot_world_from_segment.apply(flexion_axis_segment)
    a[:, 2] = 0.0
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    f = np.cross(a, [0.0, 0.0, 1.0])
    incl = np.arctan2(np.einsum("ij,ij->i", v, f), v[:, 2])
    lat = np.arcsin(np.clip(np.einsum("ij,ij->i", v, a), -1.0, 1.0))
    return incl, lat


@dataclass(frozen=True)
class RepTruth:
    """True timing and metrics of one rep (the columns of reps.csv)."""

    set: int
    rep: int
    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    eccentric_s: float
    concentric_s: float
    ankle_df_left_deg: float
    ankle_df_right_deg: float
    knee_in_left_deg: float
    knee_in_right_deg: float
    pelvic_tilt_max_deg: float
    butt_wink_deg: float
    lumbar_flexion_max_deg: float
    butt_wink_onset_depth_deg: float

    def to_dict(self) -> dict[str, float]:
        """The rep as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Truth:
    """Ground truth of a simulated session.

    Attributes
    ----------
    time_s : ndarray, shape (N,)
        Uniform grid at ``TRUTH_FS_HZ``, s.
    angles_deg : dict of str to ndarray, shape (N,)
        The six reported angles (``ANGLE_COLUMNS``), deg; ``lumbar_flexion_deg`` is
        all NaN when the session has no lumbar sensor.
    reps : list of RepTruth
    sets : list of (start_s, end_s)
    activities : list of (kind, start_s, end_s)
    """

    time_s: NDArray[np.float64]
    angles_deg: dict[str, NDArray[np.float64]]
    reps: list[RepTruth]
    sets: list[tuple[float, float]]
    activities: list[tuple[str, float, float]]

    def to_json_dict(self) -> dict[str, object]:
        """Per-rep values, sets and activities (not the time series) as JSON-ready data."""
        return {
            "reps": [r.to_dict() for r in self.reps],
            "sets": [list(s) for s in self.sets],
            "activities": [list(a) for a in self.activities],
        }


def _rep_metrics(
    rec: RepRecord, t: NDArray[np.float64], ang: dict[str, NDArray[np.float64]]
) -> RepTruth:
    inside = (t >= rec.t_start_s) & (t < rec.t_end_s)
    i_bottom = int(np.argmin(np.abs(t - rec.t_bottom_s)))
    i0 = int(np.argmax(inside))
    pel = ang["pelvic_tilt_deg"]
    # Butt wink: the most anterior pelvis in the descent, minus the lowest from then
    # to the bottom (Appl. Sci. 2025, 15(23):12526).
    i_max = i0 + int(np.argmax(pel[i0 : i_bottom + 1]))
    wink = float(pel[i_max] - np.min(pel[i_max : i_bottom + 1]))
    depth = 0.5 * (ang["ankle_df_left_deg"] + ang["ankle_df_right_deg"])
    lumbar = ang["lumbar_flexion_deg"][inside]
    return RepTruth(
        set=rec.set_index + 1,
        rep=rec.rep_index + 1,
        t_start_s=rec.t_start_s,
        t_bottom_s=rec.t_bottom_s,
        t_end_s=rec.t_end_s,
        eccentric_s=rec.t_bottom_s - rec.t_start_s,
        concentric_s=rec.t_end_s - rec.t_bottom_s,
        ankle_df_left_deg=float(np.max(ang["ankle_df_left_deg"][inside])),
        ankle_df_right_deg=float(np.max(ang["ankle_df_right_deg"][inside])),
        knee_in_left_deg=float(ang["knee_in_left_deg"][i_bottom]),
        knee_in_right_deg=float(ang["knee_in_right_deg"][i_bottom]),
        pelvic_tilt_max_deg=float(np.max(pel[inside])),
        butt_wink_deg=wink,
        lumbar_flexion_max_deg=float(np.max(lumbar))
        if np.all(np.isfinite(lumbar))
        else float("nan"),
        butt_wink_onset_depth_deg=float(depth[i_max]),
    )


def compute_truth(
    drivers: Drivers, motions: dict[Placement, SegmentMotion], *, with_lumbar: bool
) -> Truth:
    """Angles relative to quiet standing and per-rep metrics, from the true kinematics."""
    step = int(round(FINE_FS_HZ / TRUTH_FS_HZ))
    t = drivers.time_s[::step]
    w0, w1 = drivers.calibration_window_s
    calib = (drivers.time_s >= w0) & (drivers.time_s < w1)
    incl: dict[Placement, NDArray[np.float64]] = {}
    lat: dict[Placement, NDArray[np.float64]] = {}
    for placement, m in motions.items():
        # The segment-fixed direction that was vertical, on average, in quiet standing.
        up = m.rot_world_from_segment[np.flatnonzero(calib)].inv().apply([0.0, 0.0, 1.0])
        vertical = up.mean(axis=0)
        vertical /= np.linalg.norm(vertical)
        incl[placement], lat[placement] = sagittal_angles(
            m.rot_world_from_segment[::step], vertical, m.flexion_axis_segment
        )
    deg = np.rad2deg
    nan = np.full(t.size, np.nan)
    angles = {
        "pelvic_tilt_deg": deg(incl[Placement.SACRUM]),
        "lumbar_flexion_deg": (
            deg(incl[Placement.LUMBAR] - incl[Placement.SACRUM]) if with_lumbar else nan
        ),
        "ankle_df_left_deg": deg(incl[Placement.SHIN_LEFT]),
        "ankle_df_right_deg": deg(incl[Placement.SHIN_RIGHT]),
        # Toward the midline is to the right for the left leg and to the left for the right.
        "knee_in_left_deg": -deg(lat[Placement.SHIN_LEFT]),
        "knee_in_right_deg": deg(lat[Placement.SHIN_RIGHT]),
    }
    reps = [_rep_metrics(r, t, angles) for r in drivers.reps]
    return Truth(t, angles, reps, list(drivers.sets), list(drivers.activities))
