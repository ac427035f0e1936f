"""Data frames and time-sync frames: layout, decode to SI, every kind of bad frame."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

import firmware_protocol as fp
from firmware_protocol import DecodeErrorReason as R

INFO = fp.SensorInfo(
    chip=fp.ImuChip.BMI270,
    acc_range_g=16,
    gyr_range_dps=2000,
    acc_scale_ng_per_lsb=488281,
    gyr_scale_ndps_per_lsb=61035156,
    period_us=10000,
    placement=fp.PlacementCode.SACRUM,
)


def frame(
    c0: int, t0: int, *samples: tuple[int, ...], head: int = 0x11, n: int | None = None
) -> bytes:
    """A data frame built by hand with struct, independent of the encoder."""
    n = len(samples) if n is None else n
    return struct.pack("<BBHI", head, n, c0, t0) + b"".join(struct.pack("<6h", *s) for s in samples)


def rng_counts(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, (n, 3)), rng.integers(-32768, 32768, (n, 3))


# --- layout ---------------------------------------------------------------------------------


def test_known_answer_single_sample_at_default_mtu():
    frames = fp.encode_frames(
        [[12, -7, 2048]], [[3, -2, 1]], INFO, counter0=0x1234, t0_us=0x89ABCDEF
    )
    assert frames == [bytes.fromhex("11 01 3412 efcdab89 0c00 f9ff 0008 0300 feff 0100")]
    assert len(frames[0]) == 20  # the whole ATT payload at MTU 23


def test_header_is_eight_bytes_and_samples_twelve():
    assert fp.max_samples_per_frame(23) == 1
    assert fp.max_samples_per_frame(247) == 19
    assert fp.max_samples_per_frame(10_000) == fp.MAX_SAMPLES_PER_FRAME == 42
    for mtu in range(23, 700):
        n = fp.max_samples_per_frame(mtu)
        payload = min(mtu - 3, 512)  # notification payload, capped by the ATT value limit
        assert 8 + 12 * n <= payload < 8 + 12 * (n + 1)


@pytest.mark.parametrize("mtu", [22, 0, -1, 23.0, True])
def test_mtu_below_the_ble_minimum_is_refused(mtu):
    with pytest.raises(fp.EncodeError):
        fp.max_samples_per_frame(mtu)


def test_decode_uses_scale_factors_and_period_from_info():
    batch = fp.decode_frames(
        [frame(65534, 2**32 - 10000, (2048, 0, -2048, 16, 0, -16), (1, 2, 3, 4, 5, 6), (0,) * 6)],
        INFO,
    )
    g = 2048 * 488281e-9 * 9.80665
    np.testing.assert_allclose(batch.acc_mps2[0], [g, 0, -g], rtol=1e-15)
    assert abs(batch.acc_mps2[0, 0] - 9.80665) < 1e-3  # 2048 counts = 1 g at ±16 g
    np.testing.assert_allclose(
        batch.gyr_rps[0], np.radians([16 * 0.061035156, 0, -16 * 0.061035156]), rtol=1e-12
    )
    assert batch.counter.tolist() == [65534, 65535, 0]
    assert batch.sensor_time_us.tolist() == [2**32 - 10000, 0, 10000]
    assert batch.frame_index.tolist() == [0, 0, 0]
    assert (batch.acc_mps2.dtype, batch.counter.dtype, batch.sensor_time_us.dtype) == (
        np.float64,
        np.uint16,
        np.uint32,
    )
    assert batch.acc_mps2.flags.c_contiguous and batch.gyr_rps.flags.c_contiguous
    assert len(batch) == 3


def test_lost_samples_are_counted_exactly_from_the_counter():
    acc, gyr = rng_counts(10)
    frames = fp.encode_frames(acc, gyr, INFO, counter0=65530, att_mtu=23)
    kept = frames[:3] + frames[6:]  # three notifications lost over the wrap
    counter = fp.decode_frames(kept, INFO).counter
    gaps = np.diff(counter.astype(np.int64)) % 65536 - 1
    assert gaps.tolist() == [0, 0, 3, 0, 0, 0]


def test_encode_splits_into_mtu_sized_frames_and_continues_counter_and_time():
    acc, gyr = rng_counts(45)
    frames = fp.encode_frames(acc, gyr, INFO, counter0=100, t0_us=5, att_mtu=247)
    assert [len(f) for f in frames] == [236, 236, 8 + 12 * 7]
    assert [struct.unpack_from("<BBHI", f) for f in frames] == [
        (0x11, 19, 100, 5),
        (0x11, 19, 119, 190005),
        (0x11, 7, 138, 380005),
    ]


def test_samples_per_frame_bounds_latency():
    acc, gyr = rng_counts(7)
    frames = fp.encode_frames(acc, gyr, INFO, att_mtu=247, samples_per_frame=3)
    assert [f[1] for f in frames] == [3, 3, 1]
    with pytest.raises(fp.EncodeError):
        fp.encode_frames(acc, gyr, INFO, att_mtu=23, samples_per_frame=2)


def test_round_trip_counts_exactly():
    acc, gyr = rng_counts(1000, seed=3)
    batch = fp.decode_frames(fp.encode_frames(acc, gyr, INFO, att_mtu=185), INFO)
    np.testing.assert_array_equal(np.rint(batch.acc_mps2 / INFO.acc_scale_mps2_per_lsb), acc)
    np.testing.assert_array_equal(np.rint(batch.gyr_rps / INFO.gyr_scale_rps_per_lsb), gyr)


def test_empty_input_gives_empty_arrays_of_the_right_shape():
    assert fp.encode_frames(np.zeros((0, 3), int), np.zeros((0, 3), int), INFO) == []
    batch = fp.decode_frames([], INFO)
    assert batch.acc_mps2.shape == (0, 3) and batch.counter.shape == (0,) and len(batch) == 0


@pytest.mark.parametrize(
    "acc, gyr, match",
    [
        ([[1, 2]], [[1, 2, 3]], "shape"),
        ([[1, 2, 3]], [[1, 2, 3], [4, 5, 6]], "differ"),
        ([[1.0, 2.0, 3.0]], [[1, 2, 3]], "integer counts"),
        ([[40000, 0, 0]], [[1, 2, 3]], "int16"),
        ([[-32769, 0, 0]], [[1, 2, 3]], "int16"),
    ],
)
def test_encode_refuses_bad_counts(acc, gyr, match):
    with pytest.raises(fp.EncodeError, match=match):
        fp.encode_frames(acc, gyr, INFO)


@pytest.mark.parametrize("kwargs", [{"counter0": 65536}, {"counter0": -1}, {"t0_us": 2**32}])
def test_encode_refuses_out_of_range_header_fields(kwargs):
    with pytest.raises(fp.EncodeError):
        fp.encode_frames([[0, 0, 0]], [[0, 0, 0]], INFO, **kwargs)


# --- counts_from_si -------------------------------------------------------------------------


def test_counts_from_si_rounds_and_saturates_like_an_imu():
    a = INFO.acc_scale_mps2_per_lsb
    w = INFO.gyr_scale_rps_per_lsb
    acc_si = [
        [0.4 * a, 0.6 * a, -1.6 * a],
        [1e6, -1e6, math.inf],
        [-math.inf, 32767.4 * a, -32768.6 * a],
    ]
    gyr_si = [[2.5 * w, -2.5 * w, 0.0], [100.0, -100.0, 0.0], [0.0, 0.0, 0.0]]
    acc, gyr = fp.counts_from_si(acc_si, gyr_si, INFO)
    assert acc.dtype == np.int16 and gyr.dtype == np.int16
    assert acc.tolist() == [[0, 1, -2], [32767, -32768, 32767], [-32768, 32767, -32768]]
    assert gyr.tolist()[0] == [2, -2, 0]  # ties to even
    assert gyr.tolist()[1] == [32767, -32768, 0]  # 100 rad/s is far beyond ±2000 °/s


def test_counts_from_si_round_trip_error_is_below_half_a_count():
    rng = np.random.default_rng(1)
    acc_si = rng.uniform(-150, 150, (500, 3))
    gyr_si = rng.uniform(-30, 30, (500, 3))
    acc, gyr = fp.counts_from_si(acc_si, gyr_si, INFO)
    batch = fp.decode_frames(fp.encode_frames(acc, gyr, INFO, att_mtu=247), INFO)
    assert np.max(np.abs(batch.acc_mps2 - acc_si)) <= 0.5 * INFO.acc_scale_mps2_per_lsb * (1 + 1e-9)
    assert np.max(np.abs(batch.gyr_rps - gyr_si)) <= 0.5 * INFO.gyr_scale_rps_per_lsb * (1 + 1e-9)


def test_counts_from_si_refuses_nan():
    with pytest.raises(fp.EncodeError, match="NaN"):
        fp.counts_from_si([[math.nan, 0, 0]], [[0, 0, 0]], INFO)


# --- bad frames -----------------------------------------------------------------------------

GOOD = frame(1, 2, (1, 2, 3, 4, 5, 6))
TWO = frame(1, 2, (1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(
    "data, reason, offset",
    [
        pytest.param(b"", R.TRUNCATED, 0, id="empty"),
        pytest.param(GOOD[:1], R.TRUNCATED, 1, id="only-first-byte"),
        pytest.param(GOOD[:7], R.TRUNCATED, 7, id="header-cut"),
        pytest.param(GOOD[:8], R.TRUNCATED, 8, id="header-only"),
        pytest.param(GOOD[:19], R.TRUNCATED, 19, id="sample-cut"),
        pytest.param(TWO[:20], R.TRUNCATED, 20, id="second-sample-missing"),
        pytest.param(b"\x21" + GOOD[1:], R.BAD_VERSION, 0, id="version-2"),
        pytest.param(b"\x01" + GOOD[1:], R.BAD_VERSION, 0, id="version-0"),
        pytest.param(b"\x1f" + GOOD[1:], R.UNKNOWN_FRAME_TYPE, 0, id="type-15"),
        pytest.param(b"\x10" + GOOD[1:], R.UNKNOWN_FRAME_TYPE, 0, id="type-0"),
        pytest.param(
            fp.encode_time_sync(fp.TimeSync(1, 2)), R.UNEXPECTED_FRAME_TYPE, 0, id="time-sync"
        ),
        pytest.param(frame(0, 0, n=0), R.BAD_SAMPLE_COUNT, 1, id="zero-samples"),
        pytest.param(frame(0, 0, *[(0,) * 6] * 43), R.BAD_SAMPLE_COUNT, 1, id="43-samples"),
        pytest.param(frame(0, 0, n=255), R.BAD_SAMPLE_COUNT, 1, id="255-samples"),
        pytest.param(GOOD + b"\x00", R.TRAILING_BYTES, 20, id="trailing-byte"),
        pytest.param(TWO[:1] + b"\x01" + TWO[2:], R.TRAILING_BYTES, 20, id="count-too-small"),
    ],
)
def test_each_kind_of_bad_frame_raises_with_reason_and_offset(data, reason, offset):
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_frames([GOOD, data], INFO)
    err = info.value
    assert (err.reason, err.offset, err.frame_index) == (reason, offset, 1)
    msg = str(err)
    assert (
        "\n" not in msg and msg.startswith("data frame 1: ") and msg.endswith(f"at byte {offset}")
    )
    assert isinstance(err, fp.ProtocolError)


def test_first_bad_frame_is_reported_whatever_the_length_grouping():
    frames = [GOOD, TWO, b"\x21" + TWO[1:], GOOD, b"", GOOD[:5]]
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_frames(frames, INFO)
    assert info.value.frame_index == 2


def test_skip_bad_keeps_every_good_sample_and_reports_the_rest():
    acc, gyr = rng_counts(6)
    good = fp.encode_frames(acc, gyr, INFO, att_mtu=35)  # three frames of 2 samples
    frames = [good[0], b"\x99", good[1], GOOD[:10], good[2]]
    batch, errors = fp.decode_frames(frames, INFO, skip_bad=True)
    assert [(e.frame_index, e.reason) for e in errors] == [(1, R.BAD_VERSION), (3, R.TRUNCATED)]
    np.testing.assert_array_equal(np.rint(batch.acc_mps2 / INFO.acc_scale_mps2_per_lsb), acc)
    assert batch.frame_index.tolist() == [0, 0, 2, 2, 4, 4]
    assert batch.counter.tolist() == [0, 1, 2, 3, 4, 5]


def test_frames_of_mixed_lengths_come_out_in_frame_order():
    acc, gyr = rng_counts(12)
    frames = []
    start = 0
    for n in (3, 1, 2, 1, 3, 2):
        frames += fp.encode_frames(
            acc[start : start + n],
            gyr[start : start + n],
            INFO,
            counter0=start,
            t0_us=start * 10000,
            att_mtu=247,
        )
        start += n
    batch = fp.decode_frames(frames, INFO)
    assert batch.counter.tolist() == list(range(12))
    assert batch.sensor_time_us.tolist() == [10000 * i for i in range(12)]
    np.testing.assert_array_equal(np.rint(batch.gyr_rps / INFO.gyr_scale_rps_per_lsb), gyr)


def test_accepts_bytearray_and_memoryview_frames():
    batch = fp.decode_frames([bytearray(GOOD), memoryview(GOOD)], INFO)
    assert batch.counter.tolist() == [1, 1]


def test_a_single_bytes_object_is_a_type_error_not_a_silent_misread():
    with pytest.raises(TypeError, match="sequence of frames"):
        fp.decode_frames(GOOD, INFO)  # type: ignore[arg-type]


# --- frame_type and time-sync ---------------------------------------------------------------


def test_frame_type_routes_notifications():
    assert fp.frame_type(GOOD) is fp.FrameType.DATA
    assert fp.frame_type(fp.encode_time_sync(fp.TimeSync(0, 0))) is fp.FrameType.TIME_SYNC
    for data, reason in (
        (b"", R.TRUNCATED),
        (b"\x31", R.BAD_VERSION),
        (b"\x17", R.UNKNOWN_FRAME_TYPE),
    ):
        with pytest.raises(fp.FrameDecodeError) as info:
            fp.frame_type(data)
        assert (info.value.reason, info.value.offset) == (reason, 0)


def test_time_sync_layout_and_round_trip():
    data = fp.encode_time_sync(fp.TimeSync(token=0x01020304, sensor_time_us=0xA0B0C0D0))
    assert data == bytes.fromhex("12 00 04030201 d0c0b0a0")
    assert fp.decode_time_sync(data) == fp.TimeSync(0x01020304, 0xA0B0C0D0)


@pytest.mark.parametrize(
    "data, reason, offset",
    [
        (b"", R.TRUNCATED, 0),
        (bytes.fromhex("1200040302"), R.TRUNCATED, 5),
        (bytes.fromhex("12000403020100000000ff"), R.TRAILING_BYTES, 10),
        (bytes.fromhex("12010403020100000000"), R.BAD_VALUE, 1),
        (bytes.fromhex("22000403020100000000"), R.BAD_VERSION, 0),
        (bytes.fromhex("1f000403020100000000"), R.UNKNOWN_FRAME_TYPE, 0),
        (GOOD, R.UNEXPECTED_FRAME_TYPE, 0),
    ],
)
def test_bad_time_sync_frames(data, reason, offset):
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_time_sync(data)
    assert (info.value.reason, info.value.offset, info.value.what) == (
        reason,
        offset,
        "time-sync frame",
    )


@pytest.mark.parametrize("token, t", [(-1, 0), (2**32, 0), (0, 2**32), (True, 0)])
def test_time_sync_fields_are_u32(token, t):
    with pytest.raises(fp.EncodeError):
        fp.TimeSync(token, t)


# --- SampleBatch ----------------------------------------------------------------------------


def test_sample_batch_checks_shapes_and_dtypes():
    ok = np.zeros((2, 3))
    assert len(fp.SampleBatch(ok, ok)) == 2
    with pytest.raises(ValueError, match="gyr_rps"):
        fp.SampleBatch(ok, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="counter"):
        fp.SampleBatch(ok, ok, counter=np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="acc_mps2"):
        fp.SampleBatch(np.zeros((2, 3), dtype=np.float32), ok)


def test_read_data_frame_agrees_with_decode_frames_and_refuses_the_rest():
    from firmware_protocol import read_data_frame

    info = fp.SensorInfo.from_ranges(1, 8, 1000, 100.0)
    rng = np.random.default_rng(3)
    acc = rng.integers(-32768, 32767, (90, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32767, (90, 3)).astype(np.int16)
    for per_frame in (1, 3, 7):
        frames = fp.encode_frames(
            acc,
            gyr,
            info,
            counter0=65530,
            t0_us=2**32 - 20_000,
            att_mtu=247,
            samples_per_frame=per_frame,
        )
        for f in frames:
            batch = fp.decode_frames([f], info)
            counter0, t0_us, counts = read_data_frame(f)
            assert counter0 == batch.counter[0] and t0_us == batch.sensor_time_us[0]
            assert np.array_equal(counts[:, :3] * info.acc_scale_mps2_per_lsb, batch.acc_mps2)
            assert np.array_equal(counts[:, 3:] * info.gyr_scale_rps_per_lsb, batch.gyr_rps)
    good = frames[0]
    for bad in (
        b"",
        good[:8],
        good[:-1],
        good + b"\0",
        b"\x12" + good[1:],
        good[:1] + b"\0" + good[2:],
    ):
        assert read_data_frame(bad) is None
