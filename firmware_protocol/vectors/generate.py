"""Write firmware_protocol/vectors/vectors.json, the golden vectors of the protocol.

The committed vectors.json is the oracle: tests check the Python codec and the C encoder
against it and never run this script. Run it only to add vectors on purpose, then read
the diff: an existing vector whose bytes change is a wire-format change.

    python firmware_protocol/vectors/generate.py            # rewrite vectors.json
    python firmware_protocol/vectors/generate.py --check    # exit 1 if it would change

Expected decodes are written from the spec's formulas (count × scale, counter and time
arithmetic modulo 2^16 and 2^32) in plain Python, not by calling the decoders.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import firmware_protocol as fp  # noqa: E402

OUT = Path(__file__).with_name("vectors.json")
G = 9.80665

INFOS = {
    "bmi270_sacrum": fp.SensorInfo(
        chip=fp.ImuChip.BMI270,
        acc_range_g=16,
        gyr_range_dps=2000,
        acc_scale_ng_per_lsb=488281,
        gyr_scale_ndps_per_lsb=61035156,
        period_us=10000,
        placement=fp.PlacementCode.SACRUM,
        firmware_version=(1, 2, 3),
    ),
    "mpu6050_unset": fp.SensorInfo(
        chip=fp.ImuChip.MPU6050,
        acc_range_g=2,
        gyr_range_dps=250,
        acc_scale_ng_per_lsb=61035,  # 16384 LSB/g
        gyr_scale_ndps_per_lsb=7633588,  # 131 LSB/(deg/s)
        period_us=5000,
    ),
    "icm42688_shin_right": fp.SensorInfo(
        chip=fp.ImuChip.ICM42688P,
        acc_range_g=8,
        gyr_range_dps=1000,
        acc_scale_ng_per_lsb=244141,  # 4096 LSB/g
        gyr_scale_ndps_per_lsb=30487805,  # 32.8 LSB/(deg/s)
        period_us=9615,  # 104 Hz
        placement=fp.PlacementCode.SHIN_RIGHT,
        firmware_version=(0, 9, 17),
    ),
    "max_fields": fp.SensorInfo(
        chip=fp.ImuChip.SIMULATED,
        acc_range_g=255,
        gyr_range_dps=65535,
        acc_scale_ng_per_lsb=0xFFFFFFFF,
        gyr_scale_ndps_per_lsb=0xFFFFFFFF,
        period_us=0xFFFFFFFF,
        placement=fp.PlacementCode.SHIN_LEFT,
        firmware_version=(255, 255, 255),
    ),
}


def info_fields(info: fp.SensorInfo) -> dict[str, Any]:
    """Return the info as plain JSON fields (enum codes as ints)."""
    return {
        "chip": int(info.chip),
        "placement": int(info.placement),
        "acc_range_g": info.acc_range_g,
        "gyr_range_dps": info.gyr_range_dps,
        "firmware_version": list(info.firmware_version),
        "period_us": info.period_us,
        "acc_scale_ng_per_lsb": info.acc_scale_ng_per_lsb,
        "gyr_scale_ndps_per_lsb": info.gyr_scale_ndps_per_lsb,
    }


def lcg_counts(seed: int, n: int) -> list[list[int]]:
    """Return deterministic pseudo-random int16 samples (6 per row), independent of numpy."""
    rows, x = [], seed
    for _ in range(n):
        row = []
        for _ in range(6):
            x = (1103515245 * x + 12345) % 2**31
            row.append(x % 65536 - 32768)
        rows.append(row)
    return rows


def data_vector(
    name: str,
    about: str,
    info_name: str,
    rows: list[list[int]],
    *,
    counter0: int,
    t0_us: int,
    att_mtu: int,
) -> dict[str, Any]:
    """Build a data-frame vector: input counts, frames, and the decode by the spec's formulas."""
    info = INFOS[info_name]
    acc = [r[:3] for r in rows]
    gyr = [r[3:] for r in rows]
    frames = fp.encode_frames(acc, gyr, info, counter0=counter0, t0_us=t0_us, att_mtu=att_mtu)
    acc_scale = info.acc_scale_ng_per_lsb * 1e-9 * G
    gyr_scale = math.radians(info.gyr_scale_ndps_per_lsb * 1e-9)
    return {
        "name": name,
        "about": about,
        "info": info_fields(info),
        "input": {
            "counter0": counter0,
            "t0_us": t0_us,
            "att_mtu": att_mtu,
            "acc_counts": acc,
            "gyr_counts": gyr,
        },
        "frames_hex": [f.hex() for f in frames],
        "expect": {
            "counter": [(counter0 + i) % 2**16 for i in range(len(rows))],
            "sensor_time_us": [(t0_us + i * info.period_us) % 2**32 for i in range(len(rows))],
            "acc_mps2": [[c * acc_scale for c in r] for r in acc],
            "gyr_rps": [[c * gyr_scale for c in r] for r in gyr],
        },
    }


def bad(name: str, data: bytes, reason: fp.DecodeErrorReason, offset: int) -> dict[str, Any]:
    """Build a decode-failure vector."""
    return {"name": name, "hex": data.hex(), "reason": reason.value, "offset": offset}


def data_vectors() -> list[dict[str, Any]]:
    """Build data frames: MTU 23 and 247 batches, wraps, saturation, the 42-sample maximum."""
    return [
        data_vector(
            "mtu23_single_sample",
            "default MTU: 20-byte payload holds one sample; sensor flat, +1 g on z",
            "bmi270_sacrum",
            [[12, -7, 2048, 3, -2, 1]],
            counter0=0,
            t0_us=1_000_000,
            att_mtu=23,
        ),
        data_vector(
            "mtu247_full_batch",
            "MTU 247: 244-byte payload holds 19 samples (236 bytes)",
            "bmi270_sacrum",
            lcg_counts(1, 19),
            counter0=1000,
            t0_us=123_456_789,
            att_mtu=247,
        ),
        data_vector(
            "counter_wrap_in_frame",
            "counter 65533..1 wraps to 0 inside one frame",
            "bmi270_sacrum",
            lcg_counts(2, 5),
            counter0=65533,
            t0_us=50_000,
            att_mtu=71,
        ),
        data_vector(
            "time_wrap_in_frame",
            "sensor time crosses 2^32 us between samples 1 and 2",
            "bmi270_sacrum",
            lcg_counts(3, 3),
            counter0=7,
            t0_us=2**32 - 15000,
            att_mtu=47,
        ),
        data_vector(
            "saturated_int16",
            "full-scale counts: -32768 and 32767 on every axis (MPU-6050 sensitivities)",
            "mpu6050_unset",
            [[32767, -32768, 32767, -32768, 32767, -32768], [-32768, 32767, 0, -1, 1, 32767]],
            counter0=65535,
            t0_us=0xFFFFFFFF,
            att_mtu=35,
        ),
        data_vector(
            "max_42_samples",
            "MTU 517: the 512-byte ATT value limit caps a frame at 42 samples (512 bytes)",
            "icm42688_shin_right",
            lcg_counts(4, 42),
            counter0=40000,
            t0_us=3_000_000_000,
            att_mtu=517,
        ),
        data_vector(
            "split_mtu23_three_frames",
            "3 samples at MTU 23 become 3 frames; counter and time wrap between frames",
            "icm42688_shin_right",
            lcg_counts(5, 3),
            counter0=65535,
            t0_us=2**32 - 9615,
            att_mtu=23,
        ),
    ]


def bad_data_vectors() -> list[dict[str, Any]]:
    """Build data frames every decoder must reject, with reason and byte offset."""
    r = fp.DecodeErrorReason
    good = fp.encode_frames([[1, 2, 3]], [[4, 5, 6]], INFOS["bmi270_sacrum"])[0]
    two = fp.encode_frames([[1, 2, 3]] * 2, [[4, 5, 6]] * 2, INFOS["bmi270_sacrum"], att_mtu=35)[0]
    sync = fp.encode_time_sync(fp.TimeSync(1, 2))
    return [
        bad("empty", b"", r.TRUNCATED, 0),
        bad("one_byte", b"\x11", r.TRUNCATED, 1),
        bad("header_cut_at_5", good[:5], r.TRUNCATED, 5),
        bad("version_2", bytes([0x21]) + good[1:], r.BAD_VERSION, 0),
        bad("all_zero", bytes(20), r.BAD_VERSION, 0),
        bad("unknown_type_3", bytes([0x13]) + good[1:], r.UNKNOWN_FRAME_TYPE, 0),
        bad("unknown_type_0", bytes([0x10]) + good[1:], r.UNKNOWN_FRAME_TYPE, 0),
        bad("time_sync_as_data", sync, r.UNEXPECTED_FRAME_TYPE, 0),
        bad("zero_samples", good[:1] + b"\x00" + good[2:8], r.BAD_SAMPLE_COUNT, 1),
        bad("count_43", good[:1] + b"\x2b" + good[2:], r.BAD_SAMPLE_COUNT, 1),
        bad("second_sample_missing", two[:20], r.TRUNCATED, 20),
        bad("sample_cut_at_17", good[:17], r.TRUNCATED, 17),
        bad("trailing_byte", good + b"\x00", r.TRAILING_BYTES, 20),
    ]


def info_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build info values, and info values every decoder must reject."""
    ok = [
        {"name": name, "fields": info_fields(info), "hex": fp.encode_info(info).hex()}
        for name, info in INFOS.items()
    ]
    r = fp.DecodeErrorReason
    base = fp.encode_info(INFOS["bmi270_sacrum"])

    def patched(offset: int, value: bytes) -> bytes:
        return base[:offset] + value + base[offset + len(value) :]

    bad_ = [
        bad("empty", b"", r.TRUNCATED, 0),
        bad("version_2", patched(0, b"\x02"), r.BAD_VERSION, 0),
        bad("short_21", base[:21], r.TRUNCATED, 21),
        bad("unknown_chip_200", patched(1, b"\xc8"), r.BAD_VALUE, 1),
        bad("placement_5", patched(2, b"\x05"), r.BAD_VALUE, 2),
        bad("acc_range_0", patched(3, b"\x00"), r.BAD_VALUE, 3),
        bad("gyr_range_0", patched(4, b"\x00\x00"), r.BAD_VALUE, 4),
        bad("period_0", patched(10, bytes(4)), r.BAD_VALUE, 10),
        bad("acc_scale_0", patched(14, bytes(4)), r.BAD_VALUE, 14),
        bad("gyr_scale_0", patched(18, bytes(4)), r.BAD_VALUE, 18),
    ]
    return ok, bad_


def time_sync_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build time-sync frames, and ones every decoder must reject."""
    ok = [
        {
            "name": name,
            "token": tok,
            "sensor_time_us": t,
            "hex": fp.encode_time_sync(fp.TimeSync(tok, t)).hex(),
        }
        for name, tok, t in (
            ("zeros", 0, 0),
            ("typical", 0xDEADBEEF, 123_456_789),
            ("max", 0xFFFFFFFF, 0xFFFFFFFF),
        )
    ]
    r = fp.DecodeErrorReason
    good = fp.encode_time_sync(fp.TimeSync(7, 8))
    data = fp.encode_frames([[1, 2, 3]], [[4, 5, 6]], INFOS["bmi270_sacrum"])[0]
    bad_ = [
        bad("empty", b"", r.TRUNCATED, 0),
        bad("short_9", good[:9], r.TRUNCATED, 9),
        bad("long_11", good + b"\x00", r.TRAILING_BYTES, 10),
        bad("reserved_set", good[:1] + b"\x01" + good[2:], r.BAD_VALUE, 1),
        bad("data_frame", data, r.UNEXPECTED_FRAME_TYPE, 0),
        bad("version_3", bytes([0x32]) + good[1:], r.BAD_VERSION, 0),
    ]
    return ok, bad_


def control_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build control commands, and writes firmware must refuse."""
    c = fp.ControlCommand
    commands = {
        "start_streaming": c.start_streaming(),
        "stop_streaming": c.stop_streaming(),
        "set_sample_rate_100": c.set_sample_rate(100),
        "set_sample_rate_max": c.set_sample_rate(65535),
        "set_ranges_16g_2000dps": c.set_ranges(16, 2000),
        "set_placement_shin_left": c.set_placement(fp.PlacementCode.SHIN_LEFT),
        "set_placement_unset": c.set_placement(fp.PlacementCode.UNSET),
        "time_sync_request": c.time_sync_request(0xDEADBEEF),
    }
    ok = []
    for name, cmd in commands.items():
        fields = {
            k: int(getattr(cmd, k))
            for k in ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "placement", "token")
            if getattr(cmd, k) is not None
        }
        ok.append(
            {
                "name": name,
                "opcode": int(cmd.opcode),
                "fields": fields,
                "hex": fp.encode_control(cmd).hex(),
            }
        )
    r = fp.DecodeErrorReason
    bad_ = [
        bad("empty", b"", r.TRUNCATED, 0),
        bad("opcode_0", b"\x00", r.UNKNOWN_COMMAND, 0),
        bad("opcode_7", b"\x07\x00", r.UNKNOWN_COMMAND, 0),
        bad("rate_cut", b"\x03\x64", r.TRUNCATED, 2),
        bad("start_with_extra", b"\x01\x00", r.TRAILING_BYTES, 1),
        bad("rate_0", b"\x03\x00\x00", r.BAD_VALUE, 1),
        bad("acc_range_0", b"\x04\x00\xd0\x07", r.BAD_VALUE, 1),
        bad("gyr_range_0", b"\x04\x10\x00\x00", r.BAD_VALUE, 2),
        bad("placement_5", b"\x05\x05", r.BAD_VALUE, 1),
    ]
    return ok, bad_


def record_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Build records, broken records, and a damaged stream with its expected reading."""
    frame = fp.encode_frames([[12, -7, 2048]], [[3, -2, 1]], INFOS["bmi270_sacrum"])[0]
    info = fp.encode_info(INFOS["bmi270_sacrum"])
    wit = bytes.fromhex("5561") + bytes(18)
    records = {
        "frame_serial_no_host_time": fp.Record(fp.RecordKind.FRAME, frame, channel=1),
        "frame_with_host_time": fp.Record(
            fp.RecordKind.FRAME, frame, channel=3, host_time_ns=1_700_000_000_123_456_789
        ),
        "info": fp.Record(fp.RecordKind.INFO, info, channel=1),
        "witmotion_notification": fp.Record(
            fp.RecordKind.WITMOTION, wit, channel=200, host_time_ns=5
        ),
        "control_sent": fp.Record(
            fp.RecordKind.CONTROL, b"\x06\xef\xbe\xad\xde", channel=4, host_time_ns=2**64 - 1
        ),
        "empty_payload": fp.Record(fp.RecordKind.FRAME, b"", channel=0),
        "max_body": fp.Record(fp.RecordKind.FRAME, bytes(range(256)) * 4, channel=255),
        "max_body_with_time": fp.Record(fp.RecordKind.INFO, bytes(1016), channel=2, host_time_ns=0),
    }
    ok = [
        {
            "name": name,
            "kind": int(rec.kind),
            "channel": rec.channel,
            "host_time_ns": rec.host_time_ns,
            "payload_hex": rec.payload.hex(),
            "hex": fp.encode_record(rec).hex(),
        }
        for name, rec in records.items()
    ]
    r = fp.DecodeErrorReason
    good = fp.encode_record(records["frame_serial_no_host_time"])
    n = len(good)

    def with_crc(head_and_body: bytes) -> bytes:
        return head_and_body + zlib.crc32(head_and_body[2:]).to_bytes(4, "little")

    bad_ = [
        bad("empty", b"", r.TRUNCATED, 0),
        bad("magic0", b"\xa6" + good[1:], r.BAD_MAGIC, 0),
        bad("magic1", good[:1] + b"\x5b" + good[2:], r.BAD_MAGIC, 1),
        bad("header_cut", good[:5], r.TRUNCATED, 5),
        bad("length_vs_complement", good[:4] + b"\x15\x00" + good[6:], r.BAD_LENGTH, 4),
        bad(
            "length_1025",
            with_crc(
                good[:4]
                + (1025).to_bytes(2, "little")
                + (1025 ^ 0xFFFF).to_bytes(2, "little")
                + bytes(1025)
            ),
            r.BAD_LENGTH,
            4,
        ),
        bad("body_cut", good[:-5], r.TRUNCATED, n - 5),
        bad("trailing", good + b"\x00", r.TRAILING_BYTES, n),
        bad("crc_flipped", good[:-1] + bytes([good[-1] ^ 1]), r.BAD_CRC, n - 4),
        bad("payload_flipped", good[:10] + bytes([good[10] ^ 0x80]) + good[11:], r.BAD_CRC, n - 4),
        bad("unknown_kind_9", with_crc(good[:2] + b"\x09" + good[3:-4]), r.UNKNOWN_RECORD_KIND, 2),
        bad(
            "host_time_flag_short_body",
            with_crc(b"\xa5\x5a\x81\x00\x04\x00\xfb\xff" + bytes(4)),
            r.BAD_LENGTH,
            4,
        ),
    ]
    # A stream: records 0-3, with noise, a damaged record (CRC) and a record whose length
    # was damaged (it claims to extend over the next record), then intact records.
    recs = [fp.encode_record(rec) for rec in list(records.values())[:4]]
    crc_broken = recs[1][:12] + bytes([recs[1][12] ^ 0xFF]) + recs[1][13:]
    long_claim = recs[2][:4] + (len(recs[2]) + 10 - 12).to_bytes(2, "little")
    long_claim += ((len(recs[2]) + 10 - 12) ^ 0xFFFF).to_bytes(2, "little") + recs[2][8:]
    stream = (
        b"\x00\xa5\xff"
        + recs[0]
        + crc_broken
        + b"\xa5\x5a"
        + long_claim
        + recs[3]
        + recs[0]
        + b"\xa5"
    )
    stream_vector = {
        "name": "noise_crc_damage_and_bad_length",
        "about": "noise, a CRC-damaged record, a false magic, a record whose length claims 10 "
        "bytes of the next record; the reader must deliver exactly the intact records",
        "hex": stream.hex(),
        "records_hex": [recs[0].hex(), recs[3].hex(), recs[0].hex()],
        "skipped_bytes": len(stream) - 2 * len(recs[0]) - len(recs[3]),
        "bad_records": 2,
    }
    return ok, bad_, stream_vector


def witmotion_vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build WitMotion notifications with their decode, and the command bytes we send."""

    def packet(flag: int, values: list[int]) -> bytes:
        return bytes([0x55, flag]) + b"".join(v.to_bytes(2, "little", signed=True) for v in values)

    level = packet(0x61, [0, 0, 2048, 0, 0, 0, 0, 0, 0])  # flat and still: +1 g on z
    moving = packet(0x61, [-1000, 300, 1900, 1638, -16384, 32767, 5461, -2731, -32768])
    rate_reg = bytes([0x55, 0x71, 0x03, 0x00]) + b"".join(
        v.to_bytes(2, "little", signed=True) for v in [6, 5, 0, 0, 0, 0, -1, 0]
    )
    cases = [
        ("one_packet", "one 20-byte packet per notification (the usual case)", [level]),
        ("two_packets_one_notification", "two packets back to back", [level + moving]),
        (
            "data_and_register_reply",
            "a 55 71 reply between data packets",
            [level + rate_reg, moving],
        ),
        ("garbage_then_packet", "3 bytes of junk, then a packet", [b"\x00\xff\x55" + moving]),
        (
            "packet_cut_short",
            "19 bytes are skipped, never joined with the next notification",
            [level[:19], moving],
        ),
    ]
    acc_s = 16 * G / 32768
    gyr_s = math.radians(2000) / 32768
    ang_s = math.radians(180) / 32768
    out = []
    for name, about, notes in cases:
        acc, gyr, ang, idx, regs, used = [], [], [], [], [], 0
        for i, note in enumerate(notes):
            pos = 0
            while pos + 20 <= len(note):
                if note[pos] == 0x55 and note[pos + 1] in (0x61, 0x71):
                    vals = [
                        int.from_bytes(
                            note[pos + 2 + 2 * k : pos + 4 + 2 * k], "little", signed=True
                        )
                        for k in range(9)
                    ]
                    if note[pos + 1] == 0x61:
                        acc.append([v * acc_s for v in vals[0:3]])
                        gyr.append([v * gyr_s for v in vals[3:6]])
                        ang.append([v * ang_s for v in vals[6:9]])
                        idx.append(i)
                    else:
                        regs.append(
                            {
                                "start_register": vals[0] & 0xFFFF,
                                "values": vals[1:],
                                "frame_index": i,
                            }
                        )
                    used += 20
                    pos += 20
                else:
                    pos += 1
        out.append(
            {
                "name": name,
                "about": about,
                "notifications_hex": [n.hex() for n in notes],
                "expect": {
                    "acc_mps2": acc,
                    "gyr_rps": gyr,
                    "roll_pitch_yaw_rad": ang,
                    "frame_index": idx,
                    "registers": regs,
                    "skipped_bytes": sum(map(len, notes)) - used,
                },
            }
        )
    commands = [
        ("unlock", "witmotion_unlock", [], fp.witmotion_unlock()),
        ("save", "witmotion_save", [], fp.witmotion_save()),
        ("read_rate_register", "witmotion_read_register", [3], fp.witmotion_read_register(3)),
        ("set_rate_10hz", "witmotion_set_return_rate", [10], fp.witmotion_set_return_rate(10)),
        ("set_rate_100hz", "witmotion_set_return_rate", [100], fp.witmotion_set_return_rate(100)),
        ("set_rate_200hz", "witmotion_set_return_rate", [200], fp.witmotion_set_return_rate(200)),
        (
            "write_register",
            "witmotion_write_register",
            [0x24, 1],
            fp.witmotion_write_register(0x24, 1),
        ),
    ]
    cmd_vectors = [{"name": n, "call": f, "args": a, "hex": b.hex()} for n, f, a, b in commands]
    return out, cmd_vectors


def build() -> dict[str, Any]:
    """Build all vectors as one JSON document."""
    info_ok, info_bad = info_vectors()
    sync_ok, sync_bad = time_sync_vectors()
    control_ok, control_bad = control_vectors()
    record_ok, record_bad, stream = record_vectors()
    wit_notes, wit_cmds = witmotion_vectors()
    return {
        "about": (
            "Golden vectors of the squatsense sensor protocol (firmware_protocol/PROTOCOL.md). "
            "Hex is lowercase; counts are int16; SI values are float64 from the spec's "
            "formulas. This file is the oracle; generate.py only adds vectors on purpose."
        ),
        "protocol_version": fp.PROTOCOL_VERSION,
        "max_samples_per_frame": [
            {"att_mtu": m, "n": fp.max_samples_per_frame(m)}
            for m in (23, 31, 32, 35, 47, 185, 247, 251, 514, 515, 517, 65535)
        ],
        "data_frames": data_vectors(),
        "bad_data_frames": bad_data_vectors(),
        "info": info_ok,
        "bad_info": info_bad,
        "time_sync": sync_ok,
        "bad_time_sync": sync_bad,
        "control": control_ok,
        "bad_control": control_bad,
        "records": record_ok,
        "bad_records": record_bad,
        "streams": [stream],
        "witmotion_notifications": wit_notes,
        "witmotion_commands": wit_cmds,
    }


def dumps(obj: Any, indent: str = "") -> str:
    """Format JSON: big objects one key per line, small objects and number lists inline."""
    inner = indent + "  "
    flat = json.dumps(obj)
    if (
        isinstance(obj, dict)
        and len(flat) <= 90
        and not any(isinstance(v, dict) for v in obj.values())
    ):
        return flat
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and any(isinstance(v, dict | str) for v in obj):
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in obj) + "\n" + indent + "]"
    return flat


def main() -> int:
    """Write vectors.json, or with --check report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if vectors.json would change")
    args = parser.parse_args()
    text = dumps(build()) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("vectors.json is up to date" if same else "vectors.json differs from the generator")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
