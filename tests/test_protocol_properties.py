"""Property tests: round trips, decoders that never crash, a stream reader that resynchronises."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import firmware_protocol as fp

# Modest budgets keep the whole protocol suite well under 30 s; deadline=None because the
# first call of a numpy path can take longer than hypothesis's default 200 ms.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)

infos = st.builds(
    fp.SensorInfo,
    chip=st.sampled_from(fp.ImuChip),
    acc_range_g=st.integers(1, 255),
    gyr_range_dps=st.integers(1, 0xFFFF),
    acc_scale_ng_per_lsb=st.integers(1, 0xFFFF_FFFF),
    gyr_scale_ndps_per_lsb=st.integers(1, 0xFFFF_FFFF),
    period_us=st.integers(1, 0xFFFF_FFFF),
    placement=st.sampled_from(fp.PlacementCode),
    firmware_version=st.tuples(u8, u8, u8),
)

commands = st.one_of(
    st.just(fp.ControlCommand.start_streaming()),
    st.just(fp.ControlCommand.stop_streaming()),
    st.builds(fp.ControlCommand.set_sample_rate, st.integers(1, 0xFFFF)),
    st.builds(fp.ControlCommand.set_ranges, st.integers(1, 255), st.integers(1, 0xFFFF)),
    st.builds(fp.ControlCommand.set_placement, st.sampled_from(fp.PlacementCode)),
    st.builds(fp.ControlCommand.time_sync_request, u32),
)

records = st.builds(
    fp.Record,
    kind=st.sampled_from(fp.RecordKind),
    payload=st.binary(max_size=60),
    channel=u8,
    host_time_ns=st.none() | st.integers(0, 2**64 - 1),
)


@st.composite
def imu_counts(draw):
    n = draw(st.integers(0, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Mix full-range noise with the extremes so saturation values are exercised.
    counts = rng.integers(-32768, 32768, (n, 6))
    counts[rng.random((n, 6)) < 0.1] = -32768
    counts[rng.random((n, 6)) < 0.1] = 32767
    return counts


@FAST
@given(counts=imu_counts(), info=infos, counter0=u16, t0=u32, mtu=st.integers(23, 600))
def test_frames_round_trip(counts, info, counter0, t0, mtu):
    frames = fp.encode_frames(
        counts[:, :3], counts[:, 3:], info, counter0=counter0, t0_us=t0, att_mtu=mtu
    )
    assert all(len(f) <= min(mtu - 3, 512) for f in frames)
    batch = fp.decode_frames(frames, info)
    n = len(counts)
    i = np.arange(n, dtype=np.uint64)
    assert batch.counter.tolist() == ((counter0 + i) % 2**16).tolist()
    assert batch.sensor_time_us.tolist() == ((t0 + i * np.uint64(info.period_us)) % 2**32).tolist()
    np.testing.assert_array_equal(batch.acc_mps2, counts[:, :3] * info.acc_scale_mps2_per_lsb)
    np.testing.assert_array_equal(batch.gyr_rps, counts[:, 3:] * info.gyr_scale_rps_per_lsb)


@FAST
@given(info=infos)
def test_info_round_trip(info):
    assert fp.decode_info(fp.encode_info(info)) == info


@FAST
@given(cmd=commands)
def test_control_round_trip(cmd):
    assert fp.decode_control(fp.encode_control(cmd)) == cmd


@FAST
@given(token=u32, t=u32)
def test_time_sync_round_trip(token, t):
    sync = fp.TimeSync(token, t)
    assert fp.decode_time_sync(fp.encode_time_sync(sync)) == sync


@FAST
@given(record=records)
def test_record_round_trip(record):
    assert fp.decode_record(fp.encode_record(record)) == record


# --- arbitrary bytes never crash a decoder --------------------------------------------------

INFO = fp.SensorInfo.from_ranges(fp.ImuChip.SIMULATED, 16, 2000, 100.0)


def only_protocol_errors(decode, data) -> None:
    try:
        decode(data)
    except fp.FrameDecodeError as exc:
        assert 0 <= exc.offset <= max(len(data), 1) and "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_frame_decode_errors(data):
    for decode in (
        fp.decode_info,
        fp.decode_time_sync,
        fp.decode_control,
        fp.decode_record,
        fp.frame_type,
    ):
        only_protocol_errors(decode, data)
    only_protocol_errors(lambda d: fp.decode_frames([d], INFO), data)
    fp.decode_witmotion([data])
    fp.StreamReader().feed(data)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(min_size=1, max_size=40), frame_bytes=st.binary(min_size=8, max_size=8))
def test_bytes_shaped_like_frames_raise_only_frame_decode_errors(data, frame_bytes):
    # Random bytes rarely start like a frame; force plausible headers to reach deep checks.
    for head in (0x11, 0x12):
        only_protocol_errors(lambda d: fp.decode_frames([d], INFO), bytes([head]) + data)
        only_protocol_errors(fp.decode_time_sync, bytes([head]) + data)
    only_protocol_errors(fp.decode_info, b"\x01" + frame_bytes + data)
    only_protocol_errors(fp.decode_record, b"\xa5\x5a" + frame_bytes + data)


@FAST
@given(frames=st.lists(st.binary(max_size=60), max_size=12), counts=imu_counts())
def test_skip_bad_never_raises_and_keeps_every_valid_frame(frames, counts):
    good = fp.encode_frames(counts[:, :3], counts[:, 3:], INFO, att_mtu=71)
    mixed = (
        [f for pair in zip(frames, good, strict=False) for f in pair]
        + frames[len(good) :]
        + good[len(frames) :]
    )
    batch, errors = fp.decode_frames(mixed, INFO, skip_bad=True)
    valid = []
    for i, f in enumerate(mixed):
        try:
            fp.decode_frames([f], INFO)
            valid.append(i)
        except fp.FrameDecodeError:
            pass
    assert sorted(set(batch.frame_index.tolist())) == valid
    assert sorted(e.frame_index for e in errors) == sorted(set(range(len(mixed))) - set(valid))


@FAST
@given(
    frames=st.lists(st.binary(max_size=60), max_size=4),
    counts=imu_counts(),
    mtu=st.integers(23, 100),
    cut=st.integers(0, 40),
)
def test_the_few_frames_shortcut_decodes_exactly_as_the_general_path(frames, counts, mtu, cut):
    good = fp.encode_frames(counts[:, :3], counts[:, 3:], INFO, att_mtu=mtu)
    for batch_of_frames in (good[:cut], good[:cut] + frames, frames + good[:cut]):
        fast = fp.decode_frames(batch_of_frames, INFO, skip_bad=True)
        with mock.patch.object(fp._frames, "_FEW_FRAMES", -1):  # general path only
            general = fp.decode_frames(batch_of_frames, INFO, skip_bad=True)
        assert [str(e) for e in fast[1]] == [str(e) for e in general[1]]
        for field in ("acc_mps2", "gyr_rps", "counter", "sensor_time_us", "frame_index"):
            a, b = getattr(fast[0], field), getattr(general[0], field)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


# --- damaged streams resynchronise ----------------------------------------------------------

damage_ops = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete"]),
        st.floats(0, 1, exclude_max=True),
        st.binary(min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=3,
)


def apply_damage(stream: bytes, ops) -> tuple[bytes, list[tuple[str, int]]]:
    """Apply ops at positions of the original stream; return the damaged stream and the spots."""
    spots = sorted(
        ((op, int(frac * len(stream)), data) for op, frac, data in ops), key=lambda s: s[1]
    )
    out, prev = bytearray(), 0
    for op, pos, data in spots:
        if pos < prev:
            continue  # overlapping op: keep the earlier one
        out += stream[prev:pos]
        if op == "flip":
            out.append(stream[pos] ^ (data[0] or 1))
            prev = pos + 1
        elif op == "delete":
            prev = min(len(stream), pos + len(data))
        else:
            out += data
            prev = pos
    out += stream[prev:]
    return bytes(out), [(op, pos, len(data)) for op, pos, data in spots]


def touched(start: int, end: int, spots) -> bool:
    """Did damage land inside the record occupying original bytes [start, end)?"""
    for op, pos, size in spots:
        if op == "insert" and start < pos < end:
            return True
        if op == "flip" and start <= pos < end:
            return True
        if op == "delete" and pos < end and pos + size > start:
            return True
    return False


@settings(max_examples=120, deadline=None)
@given(recs=st.lists(records, min_size=1, max_size=10), ops=damage_ops, chunk=st.integers(1, 64))
def test_damaged_stream_resynchronises_without_inventing_records(recs, ops, chunk):
    encoded = [fp.encode_record(r) for r in recs]
    stream = b"".join(encoded)
    damaged, spots = apply_damage(stream, ops)

    reader = fp.StreamReader()
    got = []
    for i in range(0, len(damaged), chunk):
        got += reader.feed(damaged[i : i + chunk])
    got += reader.finish()

    # Nothing invented: what comes out is a subsequence of what went in.
    it = iter(recs)
    assert all(any(g == r for r in it) for g in got)
    # Every record that the damage did not touch is recovered.
    bounds = np.cumsum([0] + [len(e) for e in encoded])
    intact = [
        r for r, s, e in zip(recs, bounds[:-1], bounds[1:], strict=True) if not touched(s, e, spots)
    ]
    got_iter = iter(got)
    assert all(any(g == r for g in got_iter) for r in intact)
    # Every byte is either in a delivered record or counted as skipped.
    delivered = sum(len(fp.encode_record(r)) for r in got)
    assert delivered + reader.skipped_bytes == len(damaged)
    if damaged != stream and len(got) < len(recs):
        assert reader.skipped_bytes > 0


@FAST
@given(
    recs=st.lists(records, max_size=8),
    noise=st.binary(max_size=30),
    cut=st.lists(st.integers(0, 2000), max_size=6),
)
def test_reader_output_does_not_depend_on_chunking(recs, noise, cut):
    stream = noise + b"".join(fp.encode_record(r) for r in recs) + noise
    whole = fp.StreamReader()
    expect = whole.feed(stream) + whole.finish()
    pieces = fp.StreamReader()
    got, prev = [], 0
    for c in sorted(min(c, len(stream)) for c in cut) + [len(stream)]:
        got += pieces.feed(stream[prev:c])
        prev = c
    got += pieces.finish()
    assert got == expect
    assert (pieces.skipped_bytes, pieces.bad_records) == (whole.skipped_bytes, whole.bad_records)


# --- WitMotion ------------------------------------------------------------------------------


@FAST
@given(
    packets=st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(-32768, 32767), min_size=9, max_size=9)),
        max_size=20,
    ),
    split=st.lists(st.integers(1, 4), max_size=20),
    junk=st.lists(st.binary(max_size=5).map(lambda b: bytes(x % 0x55 for x in b)), max_size=20),
)
def test_witmotion_recovers_every_packet_between_junk(packets, split, junk):
    raw = [
        (b"\x55\x61" if is_data else b"\x55\x71") + np.array(v, dtype="<i2").tobytes()
        for is_data, v in packets
    ]
    # Group packets into notifications of 1-4 packets, junk (no 0x55 byte) before each.
    notes, i, k = [], 0, 0
    while i < len(raw):
        n = split[k % len(split)] if split else 1
        notes.append((junk[k % len(junk)] if junk else b"") + b"".join(raw[i : i + n]))
        i, k = i + n, k + 1
    out = fp.decode_witmotion(notes)
    data = [v for is_data, v in packets if is_data]
    scale = 16 * fp.STANDARD_GRAVITY_MPS2 / 32768
    np.testing.assert_array_equal(
        np.rint(out.samples.acc_mps2 / scale), np.reshape([v[:3] for v in data], (-1, 3))
    )
    assert [r.values for r in out.registers] == [
        tuple(v[1:]) for is_data, v in packets if not is_data
    ]
    assert out.skipped_bytes == sum(map(len, notes)) - 20 * len(packets)
