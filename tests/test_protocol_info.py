"""The info characteristic and the control characteristic."""

from __future__ import annotations

import math
import struct

import pytest

import firmware_protocol as fp
from firmware_protocol import DecodeErrorReason as R

INFO = fp.SensorInfo(
    chip=fp.ImuChip.MPU6050,
    acc_range_g=2,
    gyr_range_dps=2000,
    acc_scale_ng_per_lsb=61035,
    gyr_scale_ndps_per_lsb=60975610,  # 16.4 LSB/(°/s): not 2000/32768
    period_us=5000,
    placement=fp.PlacementCode.SHIN_LEFT,
    firmware_version=(1, 4, 2),
)


# --- info -----------------------------------------------------------------------------------


def test_info_layout_by_hand():
    data = fp.encode_info(INFO)
    assert data == struct.pack("<BBBBHBBBBIII", 1, 1, 3, 2, 2000, 1, 4, 2, 0, 5000, 61035, 60975610)
    assert len(data) == 22  # one ATT Read at the default MTU returns up to 22 bytes


def test_info_si_scale_factors():
    assert INFO.acc_scale_mps2_per_lsb == pytest.approx(9.80665 / 16384, rel=1e-5)
    assert INFO.gyr_scale_rps_per_lsb == pytest.approx(math.radians(1 / 16.4), rel=1e-7)
    assert INFO.sample_rate_hz == 200.0
    assert INFO.gyr_scale_rps_per_lsb != pytest.approx(math.radians(2000 / 32768), rel=1e-4)


def test_from_ranges_builds_nominal_scales():
    info = fp.SensorInfo.from_ranges(fp.ImuChip.SIMULATED, 16, 2000, 104.0)
    assert (info.acc_scale_ng_per_lsb, info.gyr_scale_ndps_per_lsb) == (488281, 61035156)
    assert info.period_us == 9615 and info.placement is fp.PlacementCode.UNSET
    with pytest.raises(fp.EncodeError):
        fp.SensorInfo.from_ranges(fp.ImuChip.SIMULATED, 16, 2000, 0.0)


def test_info_decode_ignores_fields_appended_by_later_firmware():
    assert fp.decode_info(fp.encode_info(INFO) + b"\x07\x08") == INFO


def test_info_decode_ignores_the_reserved_byte():
    data = bytearray(fp.encode_info(INFO))
    data[9] = 0xAB
    assert fp.decode_info(bytes(data)) == INFO


@pytest.mark.parametrize(
    "offset, value, reason",
    [
        (0, b"\x02", R.BAD_VERSION),
        (1, b"\x64", R.BAD_VALUE),
        (2, b"\x05", R.BAD_VALUE),
        (3, b"\x00", R.BAD_VALUE),
        (4, b"\x00\x00", R.BAD_VALUE),
        (10, bytes(4), R.BAD_VALUE),
        (14, bytes(4), R.BAD_VALUE),
        (18, bytes(4), R.BAD_VALUE),
    ],
)
def test_bad_info_fields_name_their_offset(offset, value, reason):
    data = fp.encode_info(INFO)
    data = data[:offset] + value + data[offset + len(value) :]
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_info(data)
    assert (info.value.reason, info.value.offset, info.value.what) == (reason, offset, "info")
    assert str(info.value).startswith("info: ")


@pytest.mark.parametrize("n", [0, 1, 21])
def test_short_info_is_truncated(n):
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_info(fp.encode_info(INFO)[:n])
    assert (info.value.reason, info.value.offset) == (R.TRUNCATED, n)


@pytest.mark.parametrize(
    "change",
    [
        {"acc_range_g": 0},
        {"acc_range_g": 256},
        {"gyr_range_dps": 65536},
        {"period_us": 0},
        {"period_us": 2**32},
        {"acc_scale_ng_per_lsb": 0},
        {"gyr_scale_ndps_per_lsb": -1},
        {"chip": 99},
        {"placement": 9},
        {"firmware_version": (1, 2)},
        {"firmware_version": (1, 2, 256)},
        {"period_us": 10.0},
    ],
)
def test_info_fields_out_of_wire_range_are_refused(change):
    fields = {
        "chip": INFO.chip,
        "acc_range_g": 2,
        "gyr_range_dps": 2000,
        "acc_scale_ng_per_lsb": 1,
        "gyr_scale_ndps_per_lsb": 1,
        "period_us": 1,
    } | change
    with pytest.raises(fp.EncodeError):
        fp.SensorInfo(**fields)


def test_placement_codes_and_labels():
    assert [(int(p), p.label) for p in fp.PlacementCode] == [
        (0, "unset"),
        (1, "sacrum"),
        (2, "lumbar"),
        (3, "shin_left"),
        (4, "shin_right"),
    ]
    assert fp.PlacementCode.from_label("shin_right") is fp.PlacementCode.SHIN_RIGHT
    with pytest.raises(fp.EncodeError, match="unknown placement"):
        fp.PlacementCode.from_label("thigh")


def test_placement_labels_match_the_names_used_by_the_file_formats():
    consts = pytest.importorskip("processing.consts")
    labels = [p.label for p in fp.PlacementCode if p is not fp.PlacementCode.UNSET]
    assert labels == [p.value for p in consts.PLACEMENTS]


def test_standard_gravity_matches_the_processing_core():
    consts = pytest.importorskip("processing.consts")
    assert fp.STANDARD_GRAVITY_MPS2 == consts.GRAVITY_MPS2


# --- control --------------------------------------------------------------------------------

C = fp.ControlCommand


@pytest.mark.parametrize(
    "cmd, hex_",
    [
        (C.start_streaming(), "01"),
        (C.stop_streaming(), "02"),
        (C.set_sample_rate(100), "03 6400"),
        (C.set_ranges(16, 2000), "04 10 d007"),
        (C.set_placement(fp.PlacementCode.LUMBAR), "05 02"),
        (C.time_sync_request(0x0A0B0C0D), "06 0d0c0b0a"),
    ],
)
def test_control_layout_and_round_trip(cmd, hex_):
    data = fp.encode_control(cmd)
    assert data == bytes.fromhex(hex_)
    assert fp.decode_control(data) == cmd


@pytest.mark.parametrize(
    "data, reason, offset",
    [
        (b"", R.TRUNCATED, 0),
        (b"\x00", R.UNKNOWN_COMMAND, 0),
        (b"\xff\x01", R.UNKNOWN_COMMAND, 0),
        (b"\x03\x64", R.TRUNCATED, 2),
        (b"\x06\x01\x02\x03", R.TRUNCATED, 4),
        (b"\x02\x00", R.TRAILING_BYTES, 1),
        (b"\x05\x01\x00", R.TRAILING_BYTES, 2),
        (b"\x03\x00\x00", R.BAD_VALUE, 1),
        (b"\x04\x00\xd0\x07", R.BAD_VALUE, 1),
        (b"\x04\x10\x00\x00", R.BAD_VALUE, 2),
        (b"\x05\x05", R.BAD_VALUE, 1),
    ],
)
def test_bad_control_commands(data, reason, offset):
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_control(data)
    assert (info.value.reason, info.value.offset, info.value.what) == (
        reason,
        offset,
        "control command",
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: C.set_sample_rate(0),
        lambda: C.set_sample_rate(65536),
        lambda: C.set_ranges(0, 2000),
        lambda: C.set_ranges(16, 70000),
        lambda: C.set_placement(7),
        lambda: C.time_sync_request(2**32),
        lambda: C(fp.ControlOpcode.START_STREAMING, token=1),
        lambda: C(fp.ControlOpcode.SET_SAMPLE_RATE),
        lambda: C(42),
    ],
)
def test_invalid_commands_are_refused_at_construction(build):
    with pytest.raises(fp.EncodeError):
        build()
