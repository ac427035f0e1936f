"""Clock mapping (drift, offset, jitter, bursts, wrap) and exact loss accounting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol import SensorInfo, encode_frames, encode_info
from ingest import ClockMapper, LossCounter, SensorBatch
from ingest._channel import SensorChannel
from processing import Placement


def _link_arrivals(rng, ready_s, conn_interval_s=0.015, burst_p=0.02, burst_s=0.12):
    """BLE delivery: wait for the next connection event, sometimes miss several; in order."""
    delay = rng.uniform(0.0, conn_interval_s, ready_s.size)
    burst = rng.random(ready_s.size) < burst_p
    delay[burst] += rng.uniform(0.0, burst_s, int(burst.sum()))
    return np.maximum.accumulate(ready_s + delay)


def _sensor(rng, drift_ppm, offset_us, duration_s=70.0, fs=100.0, per_frame=3):
    """True sample times, the sensor's u32 µs clock, and per-frame arrivals."""
    n = int(duration_s * fs)
    true = rng.uniform(0, 0.01) + np.arange(n) / (fs * (1 + drift_ppm * 1e-6))
    sensor_us = (offset_us + np.round(np.arange(n) * 1e6 / fs)).astype(np.int64)
    last = np.minimum(np.arange(0, n, per_frame) + per_frame, n) - 1
    arrival = _link_arrivals(rng, true[last])
    return true, sensor_us, last, arrival


def test_two_sensors_at_plus_minus_200_ppm_line_up_within_2_ms_after_60_s():
    rng = np.random.default_rng(1)
    errors = []
    for drift, offset in ((+200.0, 4_294_000_000), (-200.0, 17)):  # one wraps its u32 clock
        true, sensor_us, last, arrival = _sensor(rng, drift, offset)
        mapper = ClockMapper()
        anchor = int(sensor_us[0])
        mapped = np.empty(len(true))
        # Online, frame by frame: each sample is timed with what was known on arrival.
        for f, i in enumerate(last):
            lo = last[f - 1] + 1 if f else 0
            mapper.add(np.array([(sensor_us[i] - anchor) * 1e-6]), arrival[f : f + 1])
            mapped[lo : i + 1] = mapper.map((sensor_us[lo : i + 1] - anchor) * 1e-6)
        late = true > 60.0
        errors.append(mapped[late] - true[late])
        assert abs(mapper.drift_ppm - drift) < 5.0
    # Each maps to true time plus the (common, tiny) minimum BLE delay.
    for e in errors:
        assert 0.0 <= e.min() and e.max() < 0.002
    common = np.interp(np.linspace(0, 1, 500), np.linspace(0, 1, len(errors[0])), errors[0])
    other = np.interp(np.linspace(0, 1, 500), np.linspace(0, 1, len(errors[1])), errors[1])
    assert np.max(np.abs(common - other)) < 0.002


def _numpy_fit(s, a, window_s=1.0, max_drift=1e-3, outlier_s=0.005):
    """The fit as numpy arithmetic (what the compiled one replaced): (rate, offset)."""
    if len(s) < 3 or s[-1] - s[0] < 2.0 * window_s:
        return 1.0, float(np.min(a - s))

    def line(s, a):
        s_mean, a_mean = float(s.mean()), float(a.mean())
        ds = s - s_mean
        rate = float(np.clip(ds @ (a - a_mean) / (ds @ ds), 1 - max_drift, 1 + max_drift))
        return rate, a_mean - rate * s_mean

    rate, offset = line(s, a)
    resid = a - (offset + rate * s)
    keep = resid <= np.median(resid) + outlier_s
    if keep.sum() >= 3 and not keep.all():
        rate, offset = line(s[keep], a[keep])
    return rate, offset


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 130),
    start_s=st.floats(0.0, 5e4),
    drift_ppm=st.floats(-1500.0, 1500.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_compiled_clock_fit_agrees_with_the_numpy_arithmetic(n, start_s, drift_ppm, seed):
    # Window minima: mostly a short delay, some windows whose frames all waited.
    rng = np.random.default_rng(seed)
    s = start_s + np.cumsum(rng.uniform(0.2, 1.0, n))
    delay = rng.exponential(0.002, n) + (rng.random(n) < 0.1) * rng.uniform(0.0, 0.3, n)
    a = 7.0 + s * (1 + drift_ppm * 1e-6) + delay
    mapper = ClockMapper()
    for si, ai in zip(s.tolist(), a.tolist(), strict=True):
        mapper.add_point(si, ai)
    windows = mapper.n_windows
    rate, offset = _numpy_fit(np.array(mapper._win_s), np.array(mapper._win_a))
    assert windows == len(np.unique(np.floor(s)))
    assert abs(mapper.line[1] - rate) <= 1e-12
    # Mapped times (what ingest gives) agree to well under a microsecond.
    assert abs(mapper.map_one(float(s[-1])) - (offset + rate * float(s[-1]))) <= 1e-9


def test_host_stall_does_not_bend_the_fit():
    rng = np.random.default_rng(2)
    true, sensor_us, last, arrival = _sensor(rng, 50.0, 0, duration_s=40.0)
    arrival = arrival.copy()
    stall = (true[last] > 20) & (true[last] < 21.5)  # event loop blocked 1.5 s
    arrival[stall] = np.maximum(arrival[stall], true[last][stall].max() + 0.01)
    mapper = ClockMapper()
    mapper.add((sensor_us[last] - sensor_us[0]) * 1e-6, arrival)
    err = mapper.map((sensor_us - sensor_us[0]) * 1e-6) - true
    assert np.ptp(err[true > 10]) < 0.001


def _frames(n, info, counter0=0, t0_us=0):
    rng = np.random.default_rng(n)
    acc = rng.integers(-3000, 3000, (n, 3)).astype(np.int16)
    gyr = rng.integers(-3000, 3000, (n, 3)).astype(np.int16)
    return encode_frames(
        acc, gyr, info, counter0=counter0, t0_us=t0_us, att_mtu=247, samples_per_frame=2
    )


INFO = SensorInfo.from_ranges(1, 8, 1000, 100.0)


@settings(max_examples=60, deadline=None)
@given(
    n_frames=st.integers(5, 400),
    start=st.integers(0, 65535),
    data=st.data(),
)
def test_channel_loss_is_exact_under_loss_duplicates_and_reordering(n_frames, start, data):
    frames = _frames(2 * n_frames, INFO, counter0=start, t0_us=(start * 977) % 2**32)
    keep = data.draw(st.lists(st.booleans(), min_size=n_frames, max_size=n_frames))
    if not any(keep):
        keep[0] = True
    sent = [(i, f) for i, (f, k) in enumerate(zip(frames, keep, strict=True)) if k]
    order = list(range(len(sent)))
    # Local reordering (swap neighbours) and duplicates (resend a frame later).
    # (With a single frame kept there is no neighbour to swap with.)
    swaps = st.lists(st.integers(0, len(order) - 2), max_size=10) if len(order) > 1 else st.just([])
    for i in data.draw(swaps):
        order[i], order[i + 1] = order[i + 1], order[i]
    dups = data.draw(st.lists(st.integers(0, len(sent) - 1), max_size=5))
    stream = [sent[i] for i in order] + [sent[i] for i in dups]
    ch = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    ch.feed_info(0, encode_info(INFO))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    delivered = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        # Each frame arrives 5 ms after its 20 ms of samples (the clock stays consistent).
        hosts = [(i + 1) * 20_000_000 + 5_000_000 for i, _ in stream[lo:hi]]
        items = ch.feed(hosts, [f for _, f in stream[lo:hi]])
        delivered += sum(len(b) for b in items if isinstance(b, SensorBatch))
    kept_idx = [i for i, k in enumerate(keep) if k]
    span = 2 * (kept_idx[-1] - kept_idx[0] + 1)
    stats = ch.stats()
    assert stats.lost == span - 2 * len(sent)  # exactly the samples never received
    assert stats.duplicates == 2 * len(dups)
    assert delivered + stats.late == 2 * len(sent)  # late ones dropped, not lost


@pytest.mark.parametrize("per_call", [1, 4])
def test_a_burst_after_a_stall_at_the_start_loses_no_sample(per_call):
    # The host stalled 0.25 s as the stream began (a busy loop, a first load of compiled
    # code): the first frames arrive together, late, and the fit's first line runs
    # through them; the next frame on time lowers it by the stall. Those samples used to
    # map before the ones already delivered and were dropped as late (13 per sensor in
    # the BLE test). Now every one is delivered, in order, their times slewed forward
    # and back on the line within twice the step.
    frames = _frames(300, INFO)  # 2 samples per frame at 100 Hz: 20 ms apart
    on_time = [int(((i + 1) * 0.02 + 0.005) * 1e9) for i in range(len(frames))]
    stalled = [max(h, int(0.255e9)) for h in on_time]
    got = {}
    for name, hosts in (("on time", on_time), ("stalled", stalled)):
        ch = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
        ch.feed_info(0, encode_info(INFO))
        batches = []
        for k in range(0, len(frames), per_call):
            items = ch.feed(hosts[k : k + per_call], frames[k : k + per_call])
            batches += [b for b in items if isinstance(b, SensorBatch)]
        stats = ch.stats()
        assert stats.late == 0 and stats.lost == 0 and stats.samples == 2 * len(frames)
        got[name] = np.concatenate([b.samples.time_s for b in batches])
        counters = np.concatenate([b.counter for b in batches])
        np.testing.assert_array_equal(counters, np.arange(2 * len(frames)))
    ref, t = got["on time"], got["stalled"]
    assert np.all(np.diff(t) > 0)
    assert np.all(t >= ref - 1e-9) and np.all(t <= ref + 0.25)
    # Back on the line: 0.25 s of step, caught up within 0.5 s of samples after it.
    back = ref > 0.26 + 0.5
    assert back.any() and np.array_equal(t[back], ref[back])


def test_counter_wraps_and_a_long_silence_are_counted_right():
    # 70 000 samples: the u16 counter wraps; then 40 000 samples (> 32768) go missing
    # in one piece, which only the sensor clock can resolve.
    info = SensorInfo.from_ranges(1, 8, 1000, 1000.0)
    frames = _frames(220_000, info, counter0=65_000, t0_us=2**32 - 5_000_000)
    ch = SensorChannel(Placement.SHIN_LEFT, t0_ns=0, silence_timeout_s=1e9)
    ch.feed_info(0, encode_info(info))
    for lo, hi in ((0, 35_000), (55_000, 110_000)):  # frames lo..hi arrive, 2 ms apart
        for k in range(lo, hi, 5000):
            part = frames[k : min(k + 5000, hi)]
            ch.feed([(k + j) * 2_000_000 + 1_000_000 for j in range(len(part))], part)
    stats = ch.stats()
    assert stats.lost == 40_000 and stats.duplicates == 0 and stats.late == 0
    assert stats.samples == 2 * (35_000 + 55_000)


@given(st.lists(st.integers(0, 65535), min_size=1, max_size=300))
def test_loss_counter_counts_each_value_once(values):
    counter = LossCounter()
    fresh = counter.update(counter.unwrap(np.array(values, dtype=np.uint16), None))
    assert int(fresh.sum()) == len(set(values)) or max(values) - min(values) > 32767
    assert counter.duplicates == len(values) - int(fresh.sum())


def _general_only(ch: SensorChannel) -> SensorChannel:
    """`ch` with the one-notification shortcut switched off (the reference path)."""
    from ingest import _channel

    ch._decode_one = lambda payload, arrival_s: _channel._NOT_USUAL  # type: ignore[method-assign]
    return ch


def _same_items(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert type(x) is type(y)
        if isinstance(x, SensorBatch):
            for f in ("time_s", "acc_mps2", "gyr_rps"):
                u, v = getattr(x.samples, f), getattr(y.samples, f)
                assert u.dtype == v.dtype and u.shape == v.shape
                assert np.array_equal(u, v)  # bit for bit: no tolerance
            assert np.array_equal(x.counter, y.counter) and x.counter.dtype == y.counter.dtype
            assert (x.lost, x.gap_before, x.arrival_s, x.first_arrival_s) == (
                y.lost,
                y.gap_before,
                y.arrival_s,
                y.first_arrival_s,
            )
        else:
            assert x == y


def _same_counts(a: SensorChannel, b: SensorChannel) -> None:
    x, y = a.stats(), b.stats()
    assert (x.samples, x.lost, x.duplicates, x.late, x.bad_frames) == (
        y.samples,
        y.lost,
        y.duplicates,
        y.late,
        y.bad_frames,
    )


@settings(max_examples=80, deadline=None)
@given(
    n_frames=st.integers(2, 300),
    start=st.integers(0, 65535),
    t0_us=st.integers(0, 2**32 - 1),
    per_frame=st.integers(1, 4),
    data=st.data(),
)
def test_one_notification_shortcut_gives_exactly_the_general_path(
    n_frames, start, t0_us, per_frame, data
):
    # The live path decodes one notification at a time through SensorChannel._decode_one
    # when the stream is under way; anything unusual goes through _decode_frames. Both
    # must give the same items, bit for bit, and leave the same counters.
    info = SensorInfo.from_ranges(1, 8, 1000, 100.0)
    rng = np.random.default_rng(n_frames)
    n = n_frames * per_frame
    acc = rng.integers(-3000, 3000, (n, 3)).astype(np.int16)
    gyr = rng.integers(-3000, 3000, (n, 3)).astype(np.int16)
    frames = encode_frames(
        acc, gyr, info, counter0=start, t0_us=t0_us, att_mtu=247, samples_per_frame=per_frame
    )
    # Arrival: each frame 2-25 ms after its last sample, host clock ns.
    arrive = [
        int(((i + 1) * per_frame * 0.01 + rng.uniform(0.002, 0.025)) * 1e9)
        for i in range(len(frames))
    ]
    stream = list(zip(arrive, frames, strict=True))
    # Loss, neighbours swapped, duplicates, junk, and a clock jump (a reboot mid-stream).
    keep = data.draw(st.lists(st.booleans(), min_size=len(stream), max_size=len(stream)))
    stream = [s for s, k in zip(stream, keep, strict=True) if k] or stream[:1]
    for i in data.draw(st.lists(st.integers(0, max(len(stream) - 2, 0)), max_size=8)):
        if i + 1 < len(stream):
            (h0, f0), (h1, f1) = stream[i], stream[i + 1]
            stream[i], stream[i + 1] = (h0, f1), (h1, f0)  # arrival times stay in order
    for i in data.draw(st.lists(st.integers(0, len(stream) - 1), max_size=4)):
        stream.insert(
            min(i + 3, len(stream)), (stream[min(i + 3, len(stream) - 1)][0], stream[i][1])
        )
    for i in data.draw(st.lists(st.integers(0, len(stream) - 1), max_size=3)):
        junk = data.draw(
            st.sampled_from([b"", b"\x11\x00", frames[0][:9], b"\x12" + frames[0][1:]])
        )
        stream.insert(i, (stream[i][0], junk))
    if data.draw(st.booleans()):
        jump_at = data.draw(st.integers(0, len(stream) - 1))
        shift = data.draw(st.sampled_from([-40_000_000, 3_000_000, 2**31]))
        for k in range(jump_at, len(stream)):
            h, f = stream[k]
            if len(f) >= 8 and f[0] == 0x11:
                t = (int.from_bytes(f[4:8], "little") + shift) % 2**32
                stream[k] = (h, f[:4] + t.to_bytes(4, "little") + f[8:])
    fast = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    ref = _general_only(SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9))
    for ch in (fast, ref):
        ch.feed_info(0, encode_info(info))
    for host, frame in stream:
        _same_items(fast.feed([host], [frame]), ref.feed([host], [frame]))
    _same_counts(fast, ref)


@pytest.mark.parametrize("per_call", [1, 3])
def test_the_shortcut_is_taken_on_a_clean_stream(per_call):
    # Otherwise the tests of the shortcut would compare the general path with itself.
    # A few notifications in one call (a busy host) take it one by one.
    from ingest import _channel

    calls = {"usual": 0, "other": 0}
    ch = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    inner = ch._decode_one

    def counted(payload, arrival_s):
        out = inner(payload, arrival_s)
        calls["other" if out is _channel._NOT_USUAL else "usual"] += 1
        return out

    ch._decode_one = counted  # type: ignore[method-assign]
    ch.feed_info(0, encode_info(INFO))
    frames = _frames(600, INFO)
    arrivals = [(i + 1) * 20_000_000 + 5_000_000 for i in range(len(frames))]
    for i in range(0, len(frames), per_call):
        ch.feed(arrivals[i : i + per_call], frames[i : i + per_call])
    assert calls["usual"] >= len(frames) - 3 * per_call and calls["other"] <= 3
    assert ch.stats().samples == 2 * len(frames)


@settings(max_examples=40, deadline=None)
@given(
    n_frames=st.integers(3, 200),
    start=st.integers(0, 65535),
    data=st.data(),
)
def test_a_few_notifications_in_one_call_give_what_separate_calls_give(n_frames, start, data):
    # A host that was busy a moment hands over several notifications at once; they are
    # decoded one at a time (the shortcut), exactly as if each had come in its own call.
    frames = _frames(2 * n_frames, INFO, counter0=start)
    rng = np.random.default_rng(n_frames)
    stream = [(int((i + 1) * 0.02e9 + rng.uniform(2e6, 25e6)), f) for i, f in enumerate(frames)]
    keep = data.draw(st.lists(st.booleans(), min_size=len(stream), max_size=len(stream)))
    stream = stream[:2] + [s for s, k in zip(stream[2:], keep[2:], strict=True) if k]
    for i in data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=4)):
        junk = data.draw(st.sampled_from([b"", b"\x11\x00", frames[0][:9], frames[i - 1]]))
        stream.insert(i, (stream[i][0], junk))  # junk and duplicates among them
    sizes = data.draw(st.lists(st.integers(1, 8), min_size=len(stream), max_size=len(stream)))
    one = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    grouped = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    for ch in (one, grouped):
        ch.feed_info(0, encode_info(INFO))
    expected = [item for host, frame in stream for item in one.feed([host], [frame])]
    # The first notification connects the stream: one alone, as a live source sends it.
    got, i = grouped.feed([stream[0][0]], [stream[0][1]]), 1
    for size in sizes:
        if i >= len(stream):
            break
        part = stream[i : i + size]
        got += grouped.feed([h for h, _ in part], [f for _, f in part])
        i += size
    _same_items(got, expected)
    _same_counts(grouped, one)


def test_ingest_compiled_loops_are_compiled_once_and_warm_up_covers_every_call():
    # As for the processing core: a live stream through the shortcut must call the
    # compiled loops with the argument types warm_up() gave them, and nothing else.
    import ingest
    from ingest._channel import KERNELS

    ingest.warm_up()
    before = {k.__name__: list(k.signatures) for k in KERNELS}
    assert all(len(s) <= 2 for s in before.values()), before  # read-only and writable
    ch = SensorChannel(Placement.SACRUM, t0_ns=0, silence_timeout_s=1e9)
    ch.feed_info(0, encode_info(INFO))
    frames = _frames(300, INFO, counter0=65_000, t0_us=2**32 - 1_000_000)  # both wrap
    for i, f in enumerate(frames):
        payload = f if i % 2 else bytearray(f)  # as bleak gives them, and as a caller may
        ch.feed([(i + 1) * 20_000_000 + 5_000_000], [payload])
    assert ch.stats().samples == 2 * len(frames)
    assert {k.__name__: list(k.signatures) for k in KERNELS} == before
