"""The simulator is the oracle of the processing tests: check its physics and its truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from vqf import VQF

from processing import Placement
from simulator import PROFILES, Chip, SimulationConfig, list_profiles, sagittal_angles, simulate
from tests.conftest import simulated


def inclination_error_deg(q_est: np.ndarray, q_ref: np.ndarray) -> np.ndarray:
    """BROAD's heading-invariant inclination error between two (x, y, z, w) series."""
    e = (Rotation.from_quat(q_est) * Rotation.from_quat(q_ref).inv()).as_quat()
    return np.rad2deg(2 * np.arccos(np.clip(np.hypot(e[:, 3], e[:, 2]), 0.0, 1.0)))


def vqf_segment_rmse_deg(config: SimulationConfig, bias_clip_dps: float = 20.0) -> dict:
    """Run VQF (6D) on every simulated sensor; score the segment inclination with the
    known mounting, skipping the first 2 s (initial convergence)."""
    session = simulated(config)
    out = {}
    for placement, stream in session.streams.items():
        vqf = VQF(1.0 / stream.config.fs_hz, biasClip=bias_clip_dps)
        # As squatsense runs it: the gyroscope offset seeded from the opening quiet stand.
        still = stream.true_time_s < 1.5
        vqf.setBiasEstimate(stream.gyr_rps[still].mean(axis=0), np.deg2rad(0.3))
        res = vqf.updateBatch(
            np.ascontiguousarray(stream.gyr_rps), np.ascontiguousarray(stream.acc_mps2)
        )
        mount_inv = stream.config.mounting.inv()
        q_est = (Rotation.from_quat(res["quat6D"][:, [1, 2, 3, 0]]) * mount_inv).as_quat()
        q_ref = (Rotation.from_quat(stream.true_quat_world_from_sensor) * mount_inv).as_quat()
        err = inclination_error_deg(q_est, q_ref)[stream.true_time_s >= 2.0]
        out[placement] = float(np.sqrt(np.mean(err**2)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vqf_recovers_segment_inclination_from_the_simulated_sensors(seed):
    # Acceptance: an established filter, fed the simulated IMU data (noise, several deg/s
    # of gyroscope offset and its drift, quantisation, random mounting, a calibrated
    # MPU-6050) with the known mounting, recovers the true segment inclination within
    # 1.5 deg RMSE. Uncalibrated accelerometer offsets and scale/cross-axis errors bound
    # any filter's absolute inclination; their effect is reported in docs/accuracy.md.
    config = SimulationConfig(seed=seed, chip=Chip.MPU6050_CALIBRATED, frame_loss=0.0)
    rmse = vqf_segment_rmse_deg(config)
    assert set(rmse) == set(Placement)
    assert max(rmse.values()) < 1.5, rmse


def test_vqf_on_ideal_sensors_is_limited_by_the_filter_only():
    # Without sensor errors, what is left is the filter's own error under squat,
    # walking and bending accelerations; a physics slip in the simulator (acc and gyro
    # disagreeing) would show up here first.
    rmse = vqf_segment_rmse_deg(SimulationConfig(seed=1, chip=Chip.IDEAL, frame_loss=0.0))
    assert max(rmse.values()) < 1.0, rmse


def test_gyro_integrates_to_the_true_orientation():
    session = simulated(SimulationConfig(seed=1, chip=Chip.IDEAL, frame_loss=0.0))
    for stream in session.streams.values():
        q_true = Rotation.from_quat(stream.true_quat_world_from_sensor)
        w_mid = 0.5 * (stream.gyr_rps[1:] + stream.gyr_rps[:-1])
        steps = Rotation.from_rotvec(w_mid * np.diff(stream.true_time_s)[:, None]).as_matrix()
        r = q_true[0].as_matrix()
        worst = 0.0
        for k in range(0, len(steps)):
            r = r @ steps[k]
            if k % 50 == 0:
                worst = max(worst, (Rotation.from_matrix(r).inv() * q_true[k + 1]).magnitude())
        # int16 quantisation at ±2000 deg/s (0.06 deg/s) integrates to well under a degree.
        assert np.rad2deg(worst) < 0.5


def test_accelerometer_reads_plus_g_up_at_rest():
    session = simulated(SimulationConfig(seed=1, chip=Chip.IDEAL, frame_loss=0.0))
    for stream in session.streams.values():
        still = stream.true_time_s < 2.0
        expected = (
            Rotation.from_quat(stream.true_quat_world_from_sensor[still])
            .inv()
            .apply([0.0, 0.0, 9.80665])
        )
        # Quiet standing sways a little: a few cm/s² of real acceleration.
        assert np.abs(stream.acc_mps2[still] - expected).max() < 0.15
        assert np.linalg.norm(stream.acc_mps2[still], axis=1).mean() == pytest.approx(
            9.81, abs=0.05
        )


def test_same_seed_same_session_and_different_seed_differs():
    a = simulate(SimulationConfig(profile="fatigue", seed=5))
    b = simulate(SimulationConfig(profile="fatigue", seed=5))
    c = simulate(SimulationConfig(profile="fatigue", seed=6))
    for p in a.streams:
        np.testing.assert_array_equal(a.streams[p].acc_counts, b.streams[p].acc_counts)
        np.testing.assert_array_equal(a.streams[p].time_s, b.streams[p].time_s)
    assert not np.array_equal(
        a.streams[Placement.SACRUM].acc_counts[:100], c.streams[Placement.SACRUM].acc_counts[:100]
    )


def test_truth_angles_are_zero_in_quiet_standing_and_sized_like_real_squats(default_session):
    truth = default_session.truth
    still = (truth.time_s >= 0.5) & (truth.time_s < 2.5)
    for name, values in truth.angles_deg.items():
        assert abs(np.mean(values[still])) < 0.5, name
    shank_peaks = [r.ankle_df_left_deg for r in truth.reps]
    # Domain notes: 30-40 deg shank inclination at the bottom of a deep squat.
    assert 30.0 < np.median(shank_peaks) < 40.0
    lumbar = [r.lumbar_flexion_max_deg for r in truth.reps]
    assert 13.0 < np.median(lumbar) < 35.0  # McKean 2010: ~13 (women) to ~26 (men) deg


def test_truth_reps_are_ordered_half_open_and_non_overlapping(default_session):
    reps = default_session.truth.reps
    assert len(reps) == 24
    for a, b in zip(reps, reps[1:], strict=False):
        assert a.t_start_s < a.t_bottom_s < a.t_end_s <= b.t_start_s
    assert [r.set for r in reps] == [1] * 8 + [2] * 8 + [3] * 8


def test_default_profile_shows_the_faults_it_promises(default_session):
    reps = default_session.truth.reps
    winks = [r.butt_wink_deg for r in reps]
    assert sum(w >= 11.0 for w in winks) >= 8  # clearly past the 8 deg default threshold
    assert all(w <= 5.0 or w >= 11.0 for w in winks)  # and nothing in the grey zone
    assert max(r.knee_in_left_deg for r in reps[16:]) >= 11.0
    assert max(r.knee_in_right_deg for r in reps) < 1.0
    set3 = [r.concentric_s for r in reps[16:]]
    assert set3[-1] > 1.3 * min(set3)  # fatigue: clearly past the 25 % cue threshold
    assert min(r.eccentric_s for r in reps[:8]) < 0.8  # one rushed descent


def test_ankle_limited_profile_has_a_clear_asymmetry():
    reps = simulated(SimulationConfig(profile="ankle_limited_right")).truth.reps
    diffs = [r.ankle_df_left_deg - r.ankle_df_right_deg for r in reps]
    assert min(diffs) > 8.0


@pytest.mark.parametrize("yaw_deg", [37.0, 180.0, -95.0])
def test_heading_does_not_leak_into_the_angle_definitions(yaw_deg):
    rng = np.random.default_rng(0)
    rot = Rotation.random(500, random_state=rng)
    vertical = np.array([0.1, -0.05, 1.0]) / np.linalg.norm([0.1, -0.05, 1.0])
    axis = np.cross(vertical, [1.0, 0.0, 0.0])
    axis /= np.linalg.norm(axis)
    incl, lat = sagittal_angles(rot, vertical, axis)
    turned = Rotation.from_euler("z", yaw_deg, degrees=True) * rot
    incl2, lat2 = sagittal_angles(turned, vertical, axis)
    np.testing.assert_allclose(incl2, incl, atol=1e-9)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)


def test_known_answer_pitch_and_roll():
    # A segment pitched forward by 30 deg about its left axis, then rolled 10 deg:
    # inclination atan2(sin 30, cos 30 cos 10), lateral -asin(cos 30 sin 10).
    rot = Rotation.from_euler("ZXY", [[0.7, np.deg2rad(10.0), np.deg2rad(30.0)]])
    incl, lat = sagittal_angles(rot, np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    c30, s30, c10, s10 = np.cos(np.pi / 6), 0.5, np.cos(np.deg2rad(10)), np.sin(np.deg2rad(10))
    assert incl[0] == pytest.approx(np.arctan2(s30, c30 * c10))
    assert lat[0] == pytest.approx(-np.arcsin(c30 * s10))


def test_truth_per_set_is_alike_although_the_athlete_turned_between_sets(default_session):
    reps = default_session.truth.reps
    per_set = [np.median([r.ankle_df_left_deg for r in reps if r.set == s]) for s in (1, 2, 3)]
    assert np.ptp(per_set) < 4.0, per_set


def test_sensors_differ_in_rate_clock_and_loss():
    config = SimulationConfig(fs_hz={"sacrum": 50.0}, frame_loss=0.05, seed=3)
    session = simulated(config)
    sac = session.streams[Placement.SACRUM]
    shin = session.streams[Placement.SHIN_LEFT]
    assert np.median(np.diff(sac.time_s)) == pytest.approx(0.02, rel=1e-3)
    assert np.median(np.diff(shin.time_s)) == pytest.approx(0.01, rel=1e-3)
    expected = session.duration_s * 100.0
    assert 0.90 * expected < len(shin) < 0.98 * expected  # ~5 % of frames lost
    # Counters are the sensor's own: a gap in them is exactly a gap in the sample times.
    lost_by_counter = np.diff(shin.counter.astype(np.int64)) % 65536 - 1
    period = 1.0 / (shin.config.fs_hz * (1 + shin.config.clock_drift_ppm * 1e-6))
    lost_by_time = np.round(np.diff(shin.true_time_s) / period).astype(np.int64) - 1
    np.testing.assert_array_equal(lost_by_counter, lost_by_time)
    assert lost_by_counter.sum() > 0


def test_dropout_profile_leaves_a_multi_second_gap():
    session = simulated(SimulationConfig(profile="dropout"))
    t = session.streams[Placement.SHIN_RIGHT].time_s
    assert np.diff(t).max() == pytest.approx(3.0, abs=0.05)
    assert np.diff(session.streams[Placement.SHIN_LEFT].time_s).max() < 0.2


def test_strap_slip_changes_the_mounting_between_sets():
    session = simulated(SimulationConfig(profile="strap_slip", chip=Chip.IDEAL))
    stream = session.streams[Placement.SACRUM]
    truth = session.truth
    gap = (truth.sets[0][1], truth.sets[1][0])
    before = (stream.true_time_s > 0.5) & (stream.true_time_s < 2.5)
    after = (stream.true_time_s > gap[1] - 2.5) & (stream.true_time_s < gap[1] - 0.5)
    g_before = stream.acc_mps2[before].mean(axis=0)
    g_after = stream.acc_mps2[after].mean(axis=0)
    cos = g_before @ g_after / np.linalg.norm(g_before) / np.linalg.norm(g_after)
    assert np.rad2deg(np.arccos(cos)) > 10.0  # the sensor sits differently on the same pose


def test_profiles_listed_with_descriptions():
    profiles = list_profiles()
    assert "default" in profiles and set(profiles) == set(PROFILES)
    assert all(len(d) > 20 for d in profiles.values())
    with pytest.raises(KeyError, match="unknown profile 'nope'; known: "):
        simulate(SimulationConfig(profile="nope"))


def test_no_lumbar_profile_has_no_lumbar_sensor_and_empty_lumbar_truth():
    session = simulated(SimulationConfig(profile="no_lumbar"))
    assert Placement.LUMBAR not in session.streams
    assert np.all(np.isnan(session.truth.angles_deg["lumbar_flexion_deg"]))
