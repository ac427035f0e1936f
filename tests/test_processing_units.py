"""Unit tests of the processing stages: known answers, chunk invariance, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from processing import CueParams, ImuSamples, Placement, ProcessingParams, segment_angles_rad
from processing._cues import CueEngine
from processing._events import BottomReached, RepMetrics
from processing._excursions import (
    BottomEvent,
    CancelledEvent,
    ExcursionDetector,
    ExcursionEvent,
)
from processing._timebase import GridResampler

FS = 100.0


def detector() -> ExcursionDetector:
    return ExcursionDetector(
        FS, rest_deg=3, start_deg=8, min_peak_deg=15, bottom_rise_deg=2, min_s=0.8, max_s=12
    )


def squats(n: int, depth: float = 35.0, period_s: float = 3.0, pause_s: float = 1.5):
    """n sin² squats from standing; returns (depth signal, true bottom indices)."""
    pieces, bottoms, k = [np.zeros(int(2 * FS))], [], int(2 * FS)
    for _ in range(n):
        u = np.arange(int(period_s * FS)) / (period_s * FS)
        pieces.append(depth * np.sin(np.pi * u) ** 2)
        bottoms.append(k + int(period_s * FS / 2))
        k += int(period_s * FS)
        pieces.append(np.zeros(int(pause_s * FS)))
        k += int(pause_s * FS)
    return np.concatenate(pieces), bottoms


def feed_in_chunks(det, d, cuts):
    events = []
    for a, b in zip([0, *cuts], [*cuts, d.size], strict=True):
        events += det.update(a, d[a:b])
    return events


# -- excursion detector -------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 5, 12])
def test_n_synthetic_squats_give_exactly_n_reps_with_bottoms_at_the_troughs(n):
    d, bottoms = squats(n)
    events = detector().update(0, d)
    reps = [e for e in events if isinstance(e, ExcursionEvent)]
    assert len(reps) == n
    assert [e.k_bottom for e in reps] == bottoms
    assert all(e.k_start < e.k_bottom < e.k_end for e in reps)
    assert all(a.k_end <= b.k_start for a, b in zip(reps, reps[1:], strict=False))
    # Each bottom is announced before its rep ends, as soon as the depth rose back 2 deg.
    b_events = [e for e in events if isinstance(e, BottomEvent)]
    assert [e.k_bottom for e in b_events] == bottoms
    assert all(e.k_detected - e.k_bottom < 0.4 * FS for e in b_events)


def test_walking_shallow_and_overlong_excursions_are_not_reps():
    t = np.arange(0, 20, 1 / FS)
    # Walking: the shanks swing opposite ways, so their mean stays near zero.
    left, right = 22 * np.sin(2 * np.pi * 0.9 * t), -22 * np.sin(2 * np.pi * 0.9 * t)
    assert detector().update(0, 0.5 * (left + right)) == []
    # Bending over: the shanks only reach ~8 deg.
    assert not [
        e
        for e in detector().update(0, 8 * np.sin(np.pi * t / 20) ** 2)
        if isinstance(e, ExcursionEvent)
    ]
    # Sitting down for 15 s is not a squat; its bottom is withdrawn.
    sit = np.concatenate(
        [
            np.zeros(200),
            np.linspace(0, 40, 100),
            np.full(1500, 40.0),
            np.linspace(40, 0, 100),
            np.zeros(200),
        ]
    )
    events = detector().update(0, sit)
    assert not [e for e in events if isinstance(e, ExcursionEvent)]
    assert [type(e) for e in events] == [BottomEvent, CancelledEvent] or not events


def test_a_wobble_before_minimum_depth_does_not_lose_the_rep():
    d, _ = squats(1)
    i = int(2 * FS) + 40
    d[i : i + 10] -= 4.0  # a 4 deg dip at ~10 deg depth on the way down
    reps = [e for e in detector().update(0, d) if isinstance(e, ExcursionEvent)]
    assert len(reps) == 1 and reps[0].peak_deg > 30


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 2599), max_size=30, unique=True))
def test_detector_chunked_equals_batch(cuts):
    d, _ = squats(5)
    d = d + np.random.default_rng(0).normal(0, 0.3, d.size)
    d[700:712] = np.nan  # a gap inside a rep
    assert feed_in_chunks(detector(), d, sorted(cuts)) == detector().update(0, d)


def test_an_overlong_excursion_past_its_bottom_is_cancelled_whatever_the_chunking():
    # Down to 40 deg and back up 5 (the bottom is passed), then stuck at 20 deg past
    # max_s: the bottom is reported when passed and cancelled at max_s, in one batch as
    # sample by sample (the detector used to drop the whole excursion in a batch that
    # held both the bottom and max_s, and only there).
    d = np.concatenate(
        [np.zeros(100), np.linspace(0, 40, 150), np.linspace(40, 20, 100), np.full(1300, 20.0)]
    )
    d = np.concatenate([d, np.zeros(50)])
    batch = detector().update(0, d)
    assert feed_in_chunks(detector(), d, list(range(1, d.size))) == batch
    assert [type(e) for e in batch] == [BottomEvent, CancelledEvent]
    bottom, cancel = batch
    assert bottom.k_bottom == 249 and bottom.peak_deg == 40.0
    assert cancel.k_cancelled == cancel.k_start + int(12 * FS)


def test_a_cancelled_rep_gives_back_its_set_and_rep_numbers():
    # A half squat held past rep_max_s after passing its bottom is reported at the
    # bottom and then cancelled; it opened set 1, so cancelling it must give set 1 back:
    # the real squat after it is set 1, rep 1 (it used to be set 2).
    from processing._events import AngleBlock, RepCancelled
    from processing._reps import RepTracker
    from processing.consts import ANGLE_COLUMNS

    held = np.concatenate(
        [np.zeros(100), np.linspace(0, 40, 150), np.linspace(40, 20, 100), np.full(1300, 20.0)]
    )
    squat, _ = squats(1)
    d = np.concatenate([held, np.zeros(100), squat])
    angles = {c: np.zeros(d.size) for c in ANGLE_COLUMNS}
    angles["ankle_df_left_deg"] = angles["ankle_df_right_deg"] = d
    tracker = RepTracker(ProcessingParams())
    events = []
    for a in range(0, d.size, 3):  # live-sized steps
        block = AngleBlock(
            np.arange(a, min(a + 3, d.size)) / FS, {c: v[a : a + 3] for c, v in angles.items()}
        )
        events += tracker.update(block, a)
    bottoms = [e for e in events if isinstance(e, BottomReached)]
    assert [(b.set, b.rep) for b in bottoms] == [(1, 1), (1, 1)]
    assert [type(e) for e in events if isinstance(e, RepCancelled | RepMetrics)] == [
        RepCancelled,
        RepMetrics,
    ]
    assert [(r.set, r.rep) for r in tracker.reps] == [(1, 1)]


def test_a_cancelled_rep_takes_its_bottom_and_cues_out_of_the_results():
    # A fast half squat (a fast_descent cue at its bottom) held past rep_max_s is
    # cancelled; the real squat after it takes set 1, rep 1. What analyze collects keeps
    # only the real rep's bottom and cues, not two of each under one number.
    from processing import Cue, RepCancelled, collect
    from processing._events import AngleBlock
    from processing._reps import RepTracker
    from processing.consts import ANGLE_COLUMNS

    held = np.concatenate(
        [np.zeros(100), np.linspace(0, 40, 40), np.linspace(40, 20, 100), np.full(1300, 20.0)]
    )
    squat, _ = squats(1, period_s=1.2)  # fast too: the same cue, for the real rep
    d = np.concatenate([held, np.zeros(100), squat])
    angles = {c: np.zeros(d.size) for c in ANGLE_COLUMNS}
    angles["ankle_df_left_deg"] = angles["ankle_df_right_deg"] = d
    tracker = RepTracker(ProcessingParams())
    events = []
    for a in range(0, d.size, 3):
        block = AngleBlock(
            np.arange(a, min(a + 3, d.size)) / FS, {c: v[a : a + 3] for c, v in angles.items()}
        )
        events += [block, *tracker.update(block, a)]
    (cancel,) = [e for e in events if isinstance(e, RepCancelled)]
    early = [e for e in events if isinstance(e, Cue) and e.t_s <= cancel.t_s]
    assert [c.code for c in early] == ["fast_descent"]  # the cancelled rep's, given live
    result = collect(events)
    assert [(b.set, b.rep) for b in result.bottoms] == [(1, 1)]
    assert result.bottoms[0].t_detected_s > cancel.t_s
    assert [(c.code, c.set, c.rep) for c in result.cues] == [("fast_descent", 1, 1)]
    assert result.cues[0].t_s > cancel.t_s
    assert len(result.time_s) == d.size  # the angles are all there


# -- grid resampler -----------------------------------------------------------------
def _samples(t):
    t = np.asarray(t, dtype=float)
    return ImuSamples(t, np.column_stack([t, 2 * t, -t]), np.column_stack([np.sin(t), t, 0 * t]))


def test_resampler_interpolates_linearly_and_marks_long_gaps():
    r = GridResampler([Placement.SACRUM, Placement.SHIN_LEFT], FS, 0.1)
    ta = np.arange(0.003, 5, 0.0173)
    tb = np.r_[np.arange(0.001, 2.0, 0.02), np.arange(2.5, 5, 0.02)]  # a 0.5 s gap
    r.push(Placement.SACRUM, _samples(ta))
    r.push(Placement.SHIN_LEFT, _samples(tb))
    c = r.pull(final=True)
    np.testing.assert_allclose(c.acc_mps2[Placement.SACRUM][:, 1], 2 * c.time_s, atol=1e-12)
    missing = c.time_s[~c.valid[Placement.SHIN_LEFT]]
    assert missing.min() > 1.98 and missing.max() < 2.5 + 1e-9
    assert np.all(np.isnan(c.acc_mps2[Placement.SHIN_LEFT][~c.valid[Placement.SHIN_LEFT]]))
    assert c.time_s[0] == pytest.approx(0.01)  # starts once both sensors have begun


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.01, 4.99), max_size=20, unique=True))
def test_resampler_chunked_equals_batch(cuts):
    rng = np.random.default_rng(1)
    ta = np.sort(rng.uniform(0, 5, 400))
    tb = np.arange(0.004, 5, 0.02)
    batch = GridResampler([Placement.SACRUM, Placement.SHIN_LEFT], FS, 0.1)
    batch.push(Placement.SACRUM, _samples(ta))
    batch.push(Placement.SHIN_LEFT, _samples(tb))
    whole = batch.pull(final=True)
    r = GridResampler([Placement.SACRUM, Placement.SHIN_LEFT], FS, 0.1)
    chunks = []
    for lo, hi in zip([0.0, *sorted(cuts)], [*sorted(cuts), 5.0], strict=True):
        for p, t in ((Placement.SACRUM, ta), (Placement.SHIN_LEFT, tb)):
            r.push(p, _samples(t[(t >= lo) & (t < hi)]))
            c = r.pull()
            if c is not None:
                chunks.append(c)
    if (c := r.pull(final=True)) is not None:
        chunks.append(c)
    got = np.concatenate([c.acc_mps2[Placement.SACRUM] for c in chunks])
    np.testing.assert_array_equal(np.concatenate([c.time_s for c in chunks]), whole.time_s)
    np.testing.assert_array_equal(got, whole.acc_mps2[Placement.SACRUM])


def test_resampler_does_not_wait_for_a_disconnected_sensor():
    r = GridResampler([Placement.SACRUM, Placement.SHIN_LEFT], FS, 0.1)
    r.push(Placement.SACRUM, _samples(np.arange(0.0, 3, 0.01)))
    r.push(Placement.SHIN_LEFT, _samples(np.arange(0.0, 1, 0.01)))
    assert r.pull().time_s[-1] == pytest.approx(0.99)
    assert r.pull() is None  # waits for the shin
    r.mark_disconnected(Placement.SHIN_LEFT)
    c = r.pull()
    assert c.time_s[-1] == pytest.approx(2.99)
    assert not c.valid[Placement.SHIN_LEFT][c.time_s > 1.1].any()


def test_resampler_rejects_a_sensor_outside_the_session():
    r = GridResampler([Placement.SACRUM], FS, 0.1)
    with pytest.raises(ValueError, match="'lumbar' is not part of this session"):
        r.push(Placement.LUMBAR, _samples([0.0]))


# -- angles -------------------------------------------------------------------------
def test_segment_angles_known_answer_and_heading_free():
    # Sensor mounted at random; the segment pitched 30 deg forward then rolled 10 deg.
    mount = Rotation.random(random_state=3)
    seg = Rotation.from_euler("ZXY", [[1.2, np.deg2rad(10), np.deg2rad(30)]])
    q = (seg * mount).as_quat()
    vertical = mount.inv().apply([0, 0, 1.0])
    axis = mount.inv().apply([0, 1.0, 0])
    incl, lat = segment_angles_rad(q, vertical, axis)
    assert np.rad2deg(incl[0]) == pytest.approx(
        np.rad2deg(np.arctan2(0.5, np.cos(np.pi / 6) * np.cos(np.deg2rad(10)))), abs=1e-9
    )
    assert np.rad2deg(lat[0]) == pytest.approx(
        -np.rad2deg(np.arcsin(np.cos(np.pi / 6) * np.sin(np.deg2rad(10)))), abs=1e-9
    )
    turned = (Rotation.from_euler("z", 123, degrees=True) * seg * mount).as_quat()
    incl2, lat2 = segment_angles_rad(turned, vertical, axis)
    assert incl2[0] == pytest.approx(incl[0]) and lat2[0] == pytest.approx(lat[0])
    nan = segment_angles_rad(np.full((1, 4), np.nan), vertical, axis)[0]
    assert np.isnan(nan[0])


# -- cues ---------------------------------------------------------------------------
def bottom(rep, wink=0.0, knee_l=0.0, knee_r=0.0, ank_l=35.0, ank_r=35.0, onset=30.0):
    return BottomReached(1, rep, 0.0, 1.5, 1.7, 35.0, wink, knee_l, knee_r, ank_l, ank_r, onset)


def rep_metrics(rep, conc=1.0, wink=0.0, pelvic=25.0):
    return RepMetrics(1, rep, 0, 1.5, 1.5 + conc, 1.5, conc, 35, 35, 0, 0, pelvic, wink, 20)


def test_cue_thresholds_fire_once_per_rep_with_hysteresis():
    eng = CueEngine(CueParams())
    codes = lambda cues: sorted(c.code for c in cues)  # noqa: E731
    assert codes(eng.at_bottom(bottom(1, wink=8.5, knee_l=9, ank_r=28), 25, 1.5)) == [
        "ankle_limited_right",
        "butt_wink",
        "knee_in_left",
    ]
    eng.at_end(rep_metrics(1))
    # 7.5 deg: below 8 but within the 1 deg hysteresis of a cue that fired last rep.
    assert codes(eng.at_bottom(bottom(2, wink=7.5), 25, 1.5)) == ["butt_wink"]
    eng.at_end(rep_metrics(2))
    assert codes(eng.at_bottom(bottom(3, wink=6.5), 25, 1.5)) == []
    eng.at_end(rep_metrics(3))
    # After a rep without the cue, 7.5 no longer fires.
    assert codes(eng.at_bottom(bottom(4, wink=7.5), 25, 1.5)) == []
    cue = eng.at_bottom(bottom(5, wink=12, onset=27.4), 25, 0.5)
    assert codes(cue) == ["butt_wink", "fast_descent"]
    bw = next(c for c in cue if c.code == "butt_wink")
    assert bw.onset_depth_deg == 27.4 and "27 degrees" in bw.text and bw.t_s == 1.7


def test_forward_lean_against_the_athletes_own_usual_and_fatigue_on_slowdown():
    eng = CueEngine(CueParams())
    for i, conc in enumerate([1.0, 1.02, 0.98, 1.1], start=1):
        assert not [c for c in eng.at_bottom(bottom(i), 25.0, 1.5) if c.code == "forward_lean"]
        assert eng.at_end(rep_metrics(i, conc=conc)) == []
    lean = eng.at_bottom(bottom(5), 25.0 + 13.0, 1.5)
    assert [c.code for c in lean] == ["forward_lean"]
    fat = eng.at_end(rep_metrics(5, conc=1.3))
    assert [c.code for c in fat] == ["fatigue"] and fat[0].value == pytest.approx(1.3 / 0.98 - 1)
    eng.new_set()
    assert eng.at_end(rep_metrics(1, conc=2.0)) == []  # a new set starts afresh


def test_params_are_validated_with_what_was_expected():
    with pytest.raises(ValueError, match="rep_rest_deg < rep_start_deg"):
        ProcessingParams(rep_rest_deg=9.0)
    with pytest.raises(ValueError, match="fs_hz must be > 0"):
        ProcessingParams(fs_hz=0.0)


def _turning_body(seconds: float = 90.0, fs_hz: float = 100.0, seed: int = 1):
    """Three sensors on a body turning on the spot (alternate turns of ~180 deg), each
    strapped on any way round, each gyroscope with its own cross-axis coupling (~2 %)
    and offset: per sensor (up, true rate, measured rate, specific force, offset)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs_hz)
    t = np.arange(n) / fs_hz
    yaw_rate = np.zeros(n)
    for i, start in enumerate(np.arange(0.5, seconds - 2.5, 2.5)):
        sel = (t >= start) & (t < start + 1.5)
        yaw_rate[sel] = (-1) ** i * 2.5 * np.sin(np.pi * (t[sel] - start) / 1.5)
    sensors = {}
    for p in (Placement.SACRUM, Placement.SHIN_LEFT, Placement.SHIN_RIGHT):
        mount = Rotation.random(random_state=rng)
        up = mount.inv().apply([0.0, 0.0, 1.0])
        true = yaw_rate[:, None] * up
        off = rng.choice([-0.02, 0.02], (3, 3))
        np.fill_diagonal(off, 0.0)
        bias = np.deg2rad(rng.normal(0, 3, 3))
        measured = true @ (np.eye(3) + off).T + bias + rng.normal(0, 0.003, (n, 3))
        acc = 9.81 * np.tile(up, (n, 1)) + rng.normal(0, 0.05, (n, 3))
        sensors[p] = (up, true, measured, acc, bias)
    return sensors


def _across_per_rate(up, err, true):
    turning = np.linalg.norm(true, axis=1) > 1.0
    e = err[turning]
    across = np.linalg.norm(e - (e @ up)[:, None] * up, axis=1)
    return float(np.median(across / np.linalg.norm(true[turning], axis=1)))


def test_turn_coupling_is_learned_from_whole_body_turns_and_removed():
    from processing._orientation import TurnCoupling

    body = _turning_body()
    tc = TurnCoupling(list(body), 100.0)
    out = tc.correct(
        {p: s[2] for p, s in body.items()},
        {p: s[3] for p, s in body.items()},
        {p: s[4] for p, s in body.items()},
    )
    late = slice(len(body[Placement.SACRUM][1]) // 2, None)  # after ~45 s of turns
    for p, (up, true, measured, _, bias) in body.items():
        before = _across_per_rate(up, (measured - bias - true)[late], true[late])
        after = _across_per_rate(up, (out[p] - bias - true)[late], true[late])
        assert before > 0.015 and after < 0.004, (p, before, after)


def test_one_sensor_rotating_alone_teaches_nothing_and_chunks_equal_batch():
    from processing._orientation import TurnCoupling

    body = _turning_body(seconds=40.0)
    gyr = {p: s[2] for p, s in body.items()}
    acc = {p: s[3] for p, s in body.items()}
    bias = {p: s[4] for p, s in body.items()}
    # Only the sacrum turns (a hand-held sensor, or one body part): no whole-body turn.
    still = {
        p: (gyr[p] if p is Placement.SACRUM else np.tile(bias[p], (len(gyr[p]), 1))) for p in gyr
    }
    out = TurnCoupling(list(body), 100.0).correct(still, acc, bias)
    for p in body:
        np.testing.assert_array_equal(out[p], still[p])
    # Fewer sensors than a body has: never active.
    sacrum = TurnCoupling([Placement.SACRUM], 100.0)
    assert (
        sacrum.correct({Placement.SACRUM: gyr[Placement.SACRUM]}, acc, bias)[Placement.SACRUM]
        is gyr[Placement.SACRUM]
    )
    whole = TurnCoupling(list(body), 100.0).correct(gyr, acc, bias)
    tc = TurnCoupling(list(body), 100.0)
    cuts = [0, 1, 7, 500, 1234, 2999, len(gyr[Placement.SACRUM])]
    parts = [
        tc.correct({p: g[a:b] for p, g in gyr.items()}, {p: v[a:b] for p, v in acc.items()}, bias)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    for p in body:
        assert np.array_equal(np.concatenate([part[p] for part in parts]), whole[p])


def test_turn_coupling_passes_rates_through_until_a_sensor_reads_a_plausible_vertical():
    from processing._orientation import TurnCoupling

    body = _turning_body(seconds=5.0)
    gyr = {p: s[2] for p, s in body.items()}
    acc = {p: s[3].copy() for p, s in body.items()}
    bias = {p: s[4] for p, s in body.items()}
    acc[Placement.SACRUM][:50] = 0.0  # a read-out of zeros before the first real sample
    out = TurnCoupling(list(body), 100.0).correct(gyr, acc, bias)
    for p in body:
        assert np.isfinite(out[p]).all()
    np.testing.assert_array_equal(out[Placement.SACRUM][:50], gyr[Placement.SACRUM][:50])


def test_compiled_loops_are_compiled_once_and_warm_up_covers_every_call():
    # A compiled loop called with other argument types (a non-contiguous array, an
    # int for a float) compiles again, for seconds, in the middle of a live session.
    # warm_up() must give each loop the types the core passes, and the core one set.
    from processing import analyze, warm_up
    from processing._warm import KERNELS
    from simulator import SimulationConfig, simulate

    warm_up()
    before = {k.__name__: list(k.signatures) for k in KERNELS}
    assert all(len(s) == 1 for s in before.values()), before
    rec = simulate(SimulationConfig(profile="default", seed=1)).recording()
    analyze(rec, chunk_s=0.02)  # live-sized steps
    analyze(rec)  # one batch
    after = {k.__name__: list(k.signatures) for k in KERNELS}
    assert after == before


def test_angle_block_pickles_whole():
    # Live workers pickle one block per step to the server (packed into one array).
    import pickle

    from processing import ANGLE_COLUMNS, AngleBlock

    angles = {k: np.array([1.5, np.nan, -2.0]) * (i + 1) for i, k in enumerate(ANGLE_COLUMNS)}
    block = AngleBlock(np.array([0.01, 0.02, 0.03]), angles)
    back = pickle.loads(pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL))
    assert list(back.angles_deg) == list(ANGLE_COLUMNS)
    np.testing.assert_array_equal(back.time_s, block.time_s)
    for k in ANGLE_COLUMNS:
        np.testing.assert_array_equal(back.angles_deg[k], angles[k])
    empty = pickle.loads(pickle.dumps(AngleBlock(np.zeros(0), {k: np.zeros(0) for k in angles})))
    assert len(empty) == 0 and list(empty.angles_deg) == list(ANGLE_COLUMNS)


@pytest.mark.parametrize("with_lumbar", [True, False])
def test_angles_from_is_the_documented_arithmetic_of_the_inclinations(with_lumbar):
    # angles_from runs one compiled loop per step; it must give, bit for bit, what the
    # conventions say of the per-sensor inclinations (segment_angles_rad), NaN rows
    # (a gap) included, whatever the calibration's order, and follow a changed one.
    from processing._calibration import Calibrated, OrientedBlock, SensorCalibration
    from processing._pipeline import _CalibrationArrays, angles_from

    rng = np.random.default_rng(7)
    placements = [Placement.SHIN_RIGHT, Placement.SACRUM, Placement.SHIN_LEFT]
    if with_lumbar:
        placements.insert(1, Placement.LUMBAR)
    n = 9
    quat = {p: Rotation.random(n, random_state=rng).as_quat() for p in placements}
    quat[Placement.SACRUM][3] = np.nan

    def unit(v):
        return v / np.linalg.norm(v)

    cache = _CalibrationArrays()
    for _ in range(2):  # a second calibration: the cache must not keep the first
        cal = {
            p: SensorCalibration(unit(rng.normal(size=3)), unit(rng.normal(size=3)))
            for p in placements
        }
        block = OrientedBlock(0, np.arange(n) / 100.0, quat, {}, {})
        got = angles_from(Calibrated(block, cal), cache).angles_deg
        incl, lat = {}, {}
        for p in placements:
            incl[p], lat[p] = segment_angles_rad(quat[p], cal[p].vertical, cal[p].flexion_axis)
        want = {
            "pelvic_tilt_deg": np.rad2deg(incl[Placement.SACRUM]),
            "lumbar_flexion_deg": (
                np.rad2deg(incl[Placement.LUMBAR] - incl[Placement.SACRUM])
                if with_lumbar
                else np.full(n, np.nan)
            ),
            "ankle_df_left_deg": np.rad2deg(incl[Placement.SHIN_LEFT]),
            "ankle_df_right_deg": np.rad2deg(incl[Placement.SHIN_RIGHT]),
            "knee_in_left_deg": -np.rad2deg(lat[Placement.SHIN_LEFT]),
            "knee_in_right_deg": np.rad2deg(lat[Placement.SHIN_RIGHT]),
        }
        assert list(got) == list(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        # The same dict again (the calibrator hands out one until it changes: the kept
        # arrays), and a copy of it (arrays made again): the same angles.
        for same in (cal, dict(cal)):
            again = angles_from(Calibrated(block, same), cache).angles_deg
            for name in want:
                np.testing.assert_array_equal(again[name], want[name], err_msg=name)
        assert np.isnan(got["pelvic_tilt_deg"][3]) and not np.isnan(got["pelvic_tilt_deg"][2])


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    seed=st.integers(0, 1000),
)
def test_quiet_detector_takes_the_resamplers_stacked_samples_as_the_per_sensor_ones(sizes, seed):
    # The live path hands the quiet detector the resampler's (S, K, 6) array; what it
    # finds must be exactly what it finds from the per-sensor arrays.
    from processing._calibration import QuietDetector

    placements = (Placement.SACRUM, Placement.SHIN_LEFT, Placement.SHIN_RIGHT)
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    # Still stretches and moving ones, a few missing samples.
    scale = np.repeat(rng.choice([0.001, 0.5], size=n // 10 + 1), 10)[:n]
    stacked = rng.normal(0, 1, (3, n, 6)) * scale[None, :, None]
    stacked[rng.random((3, n)) < 0.01] = np.nan
    per_sensor, whole = (
        QuietDetector(placements, 21, 0.05, 0.3),
        QuietDetector(placements, 21, 0.05, 0.3),
    )
    k = 0
    for size in sizes:
        part = stacked[:, k : k + size]
        acc = {p: part[i, :, :3] for i, p in enumerate(placements)}
        gyr = {p: part[i, :, 3:] for i, p in enumerate(placements)}
        q1, j1 = per_sensor.update(acc, gyr)
        q2, j2 = whole.update(acc, gyr, part)
        assert np.array_equal(q1, q2)
        assert np.array_equal(j1, j2, equal_nan=True)
        a1, g1 = per_sensor.columns(j1)
        for i, p in enumerate(placements):
            np.testing.assert_array_equal(a1[p][-size:], part[i, :, :3])
            np.testing.assert_array_equal(g1[p][-size:], part[i, :, 3:])
        k += size
