"""The orientation stage, exactly as configured for squats, on real data nobody here wrote.

BROAD (Laidig et al. 2021, CC BY 4.0): four trials of real IMU recordings with optical
ground truth. Inclination error as the data set's README defines it; the stage must stay
within 0.2 deg of the best published causal (online) filter on every trial.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from processing import Placement, ProcessingParams
from processing._orientation import OrientationTracker
from processing._timebase import GridChunk
from tests.conftest import shared_path

h5py = pytest.importorskip("h5py")

#: Published "vqf online" inclination RMSE per trial (deg), from the data's README.
BEST_ONLINE_DEG = {
    "02_undisturbed_slow_rotation_B": 0.43,
    "07_undisturbed_fast_rotation_B": 1.02,
    "11_undisturbed_slow_translation_B": 0.42,
    "25_disturbed_tapping_B": 0.38,
}


def inclination_rmse_deg(name: str) -> float:
    path = shared_path("data", "broad", f"{name}.hdf5")
    with h5py.File(path, "r") as f:
        acc, gyr = f["imu_acc"][:], f["imu_gyr"][:]
        q_ref = f["opt_quat"][:]
        movement = f["movement"][:].astype(bool)
        fs = float(f.attrs["sampling_rate"])
    params = ProcessingParams()
    tracker = OrientationTracker([Placement.SACRUM], fs, params.gyr_bias_clip_dps)
    n = acc.shape[0]
    chunk = GridChunk(
        0,
        np.arange(n) / fs,
        {Placement.SACRUM: acc},
        {Placement.SACRUM: gyr},
        {Placement.SACRUM: np.ones(n, dtype=bool)},
    )
    q_est = tracker.update(chunk)[Placement.SACRUM]  # x, y, z, w
    ok = movement & np.all(np.isfinite(q_ref), axis=1)
    # q_e = q_est ⊗ conj(q_ref); error = 2 acos(sqrt(w² + z²)) (heading-free)
    e = (
        Rotation.from_quat(q_est[ok]) * Rotation.from_quat(q_ref[ok][:, [1, 2, 3, 0]]).inv()
    ).as_quat()
    err = 2 * np.arccos(np.clip(np.hypot(e[:, 3], e[:, 2]), 0.0, 1.0))
    return float(np.rad2deg(np.sqrt(np.mean(err**2))))


@pytest.mark.parametrize("trial", sorted(BEST_ONLINE_DEG))
def test_orientation_stage_is_within_0_2_deg_of_the_best_online_filter(trial):
    rmse = inclination_rmse_deg(trial)
    assert rmse <= BEST_ONLINE_DEG[trial] + 0.2, f"{trial}: {rmse:.3f} deg"
