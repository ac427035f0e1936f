"""WitMotion BLE 5.0 sensors: 55 61 data packets, 55 71 register replies, FF AA commands."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

import firmware_protocol as fp

G = 9.80665


def data_packet(*values: int) -> bytes:
    return b"\x55\x61" + struct.pack("<9h", *values)


def reg_packet(start: int, *values: int) -> bytes:
    return b"\x55\x71" + struct.pack("<H8h", start, *values)


def test_uuids_are_the_vendor_ones_not_the_sig_base():
    assert fp.WITMOTION_SERVICE_UUID == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert fp.WITMOTION_NOTIFY_UUID == "0000ffe4-0000-1000-8000-00805f9a34fb"
    assert fp.WITMOTION_WRITE_UUID == "0000ffe9-0000-1000-8000-00805f9a34fb"
    # ...9a34fb, one digit off the Bluetooth base UUID: a host must compare in full.
    assert not fp.WITMOTION_NOTIFY_UUID.endswith("00805f9b34fb")


def test_data_packet_scales_to_si():
    out = fp.decode_witmotion([data_packet(2048, -32768, 32767, 16384, -1, 0, 16384, -8192, 32767)])
    s = out.samples
    np.testing.assert_allclose(s.acc_mps2, [[G, -16 * G, 32767 / 32768 * 16 * G]], rtol=1e-15)
    np.testing.assert_allclose(
        s.gyr_rps, [[math.radians(1000), -math.radians(2000 / 32768), 0]], rtol=1e-15
    )
    np.testing.assert_allclose(
        out.roll_pitch_yaw_rad, [[math.pi / 2, -math.pi / 4, math.pi * 32767 / 32768]], rtol=1e-15
    )
    assert s.counter is None and s.sensor_time_us is None
    assert s.frame_index.tolist() == [0]
    assert out.skipped_bytes == 0 and out.registers == ()


def test_several_packets_per_notification_and_per_call():
    p = [data_packet(i, 0, 0, 0, 0, 0, 0, 0, 0) for i in range(5)]
    out = fp.decode_witmotion([p[0] + p[1] + p[2], p[3], b"", p[4]])
    np.testing.assert_array_equal(np.rint(out.samples.acc_mps2[:, 0] / (16 * G / 32768)), range(5))
    assert out.samples.frame_index.tolist() == [0, 0, 0, 1, 3]


def test_register_replies_are_kept_apart_from_samples():
    reply = reg_packet(0x03, 9, 0, -1, 2, 3, 4, 5, 6)
    out = fp.decode_witmotion(
        [data_packet(1, 2, 3, 4, 5, 6, 7, 8, 9) + reply, data_packet(*[0] * 9)]
    )
    assert len(out.samples) == 2
    assert out.registers == (fp.WitMotionRegisters(3, (9, 0, -1, 2, 3, 4, 5, 6), 0),)


def test_register_start_is_unsigned():
    out = fp.decode_witmotion([reg_packet(0xFFEE, *range(8))])
    assert out.registers[0].start_register == 0xFFEE


def test_garbage_is_skipped_and_counted():
    pkt = data_packet(*range(9))
    out = fp.decode_witmotion([b"\x00\x55\x55" + pkt + b"\x61\x55", b"\xff" * 25, pkt])
    assert len(out.samples) == 2
    assert out.skipped_bytes == 3 + 2 + 25
    assert out.samples.frame_index.tolist() == [0, 2]


def test_a_packet_is_never_joined_across_notifications():
    pkt = data_packet(*range(1, 10))
    # A cut packet followed by a whole one: joining would invent a sample and lose the real one.
    out = fp.decode_witmotion([pkt[:12], pkt[12:] + pkt, pkt[:19]])
    assert len(out.samples) == 1
    np.testing.assert_array_equal(np.rint(out.samples.acc_mps2 / (16 * G / 32768)), [[1, 2, 3]])
    assert out.samples.frame_index.tolist() == [1]
    assert out.skipped_bytes == 12 + 8 + 19


def test_scanner_resyncs_like_a_byte_by_byte_reader_on_long_streams():
    rng = np.random.default_rng(7)
    notes, expected = [], []
    for i in range(300):
        vals = rng.integers(-32768, 32768, 9)
        pkt = data_packet(*vals.tolist())
        junk = (
            bytes(rng.integers(0, 0x55, rng.integers(0, 4)).astype(np.uint8)) if i % 7 == 0 else b""
        )
        notes.append(junk + pkt)
        expected.append(vals[:3])
    out = fp.decode_witmotion(notes)
    np.testing.assert_array_equal(np.rint(out.samples.acc_mps2 / (16 * G / 32768)), expected)
    assert out.skipped_bytes == sum(map(len, notes)) - 20 * 300


def test_empty_input():
    out = fp.decode_witmotion([])
    assert len(out.samples) == 0 and out.samples.acc_mps2.shape == (0, 3)
    assert out.roll_pitch_yaw_rad.shape == (0, 3)
    assert fp.decode_witmotion([b"\x55", b"\x55\x61"]).skipped_bytes == 3


def test_single_bytes_object_is_a_type_error():
    with pytest.raises(TypeError):
        fp.decode_witmotion(data_packet(*[0] * 9))  # type: ignore[arg-type]


# --- commands -------------------------------------------------------------------------------


def test_command_bytes_match_the_witmotion_documentation():
    assert fp.witmotion_unlock() == bytes.fromhex("ffaa6988b5")
    assert fp.witmotion_save() == bytes.fromhex("ffaa000000")
    assert fp.witmotion_read_register(0x40) == bytes.fromhex("ffaa274000")  # "read temperature"
    assert fp.witmotion_set_return_rate(10) == bytes.fromhex("ffaa030600")  # datasheet example
    assert fp.witmotion_write_register(0x24, 1) == bytes.fromhex("ffaa240100")
    assert fp.witmotion_write_register(0x05, -2) == bytes.fromhex("ffaa05feff")


def test_return_rate_codes():
    codes = {rate: fp.witmotion_set_return_rate(rate)[3] for rate in fp.WITMOTION_RATE_CODES}
    assert codes == {
        0.2: 1,
        0.5: 2,
        1.0: 3,
        2.0: 4,
        5.0: 5,
        10.0: 6,
        20.0: 7,
        50.0: 8,
        100.0: 9,
        200.0: 10,
    }
    with pytest.raises(fp.EncodeError, match="not supported"):
        fp.witmotion_set_return_rate(125)


@pytest.mark.parametrize(
    "call", [lambda: fp.witmotion_read_register(256), lambda: fp.witmotion_write_register(3, 70000)]
)
def test_out_of_range_commands_are_refused(call):
    with pytest.raises(fp.EncodeError):
        call()
