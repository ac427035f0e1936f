"""The byte-stream envelope: record layout, single-record decode, the resynchronising reader."""

from __future__ import annotations

import struct
import zlib

import pytest

import firmware_protocol as fp
from firmware_protocol import DecodeErrorReason as R

FRAME = bytes.fromhex("1101000040420f000c00f9ff00080300feff0100")


def rec(i: int, **kw) -> fp.Record:
    """A distinct record per i."""
    return fp.Record(fp.RecordKind.FRAME, FRAME + bytes([i % 256]), channel=i % 5, **kw)


def read_all(data: bytes, chunk: int = 1 << 20) -> tuple[list[fp.Record], fp.StreamReader]:
    reader = fp.StreamReader()
    out = []
    for i in range(0, len(data), chunk):
        out += reader.feed(data[i : i + chunk])
    out += reader.finish()
    return out, reader


def test_record_layout_by_hand():
    data = fp.encode_record(
        fp.Record(fp.RecordKind.FRAME, FRAME, channel=3, host_time_ns=0x0102030405060708)
    )
    body = struct.pack("<Q", 0x0102030405060708) + FRAME
    head = struct.pack("<2sBBHH", b"\xa5\x5a", 0x81, 3, len(body), len(body) ^ 0xFFFF)
    assert data == head + body + struct.pack("<I", zlib.crc32(head[2:] + body))
    assert len(data) == 12 + 8 + 20


def test_record_without_host_time_has_flag_clear():
    data = fp.encode_record(fp.Record(fp.RecordKind.INFO, b"\x01\x02", channel=7))
    assert data[:8] == bytes.fromhex("a55a 02 07 0200 fdff")
    assert fp.decode_record(data) == fp.Record(fp.RecordKind.INFO, b"\x01\x02", 7, None)


def test_crc_is_zlib_crc32():
    # The check value of CRC-32/ISO-HDLC, the CRC the C header reimplements bitwise.
    assert zlib.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": 0, "payload": b""},
        {"kind": 9, "payload": b""},
        {"kind": fp.RecordKind.FRAME, "payload": bytes(1025)},
        {"kind": fp.RecordKind.FRAME, "payload": bytes(1017), "host_time_ns": 1},
        {"kind": fp.RecordKind.FRAME, "payload": b"", "channel": 256},
        {"kind": fp.RecordKind.FRAME, "payload": b"", "host_time_ns": -1},
        {"kind": fp.RecordKind.FRAME, "payload": b"", "host_time_ns": 2**64},
    ],
)
def test_records_that_do_not_fit_the_wire_are_refused(kwargs):
    with pytest.raises(fp.EncodeError):
        fp.Record(**kwargs)


def test_largest_records_fit():
    for r in (
        fp.Record(fp.RecordKind.FRAME, bytes(1024)),
        fp.Record(fp.RecordKind.FRAME, bytes(1016), host_time_ns=2**64 - 1),
    ):
        assert fp.decode_record(fp.encode_record(r)) == r


GOOD = fp.encode_record(rec(1))


def with_crc(head_and_body: bytes) -> bytes:
    return head_and_body + struct.pack("<I", zlib.crc32(head_and_body[2:]))


@pytest.mark.parametrize(
    "data, reason, offset",
    [
        pytest.param(b"", R.TRUNCATED, 0, id="empty"),
        pytest.param(b"\xa5", R.TRUNCATED, 1, id="half-magic"),
        pytest.param(b"\x00" + GOOD[1:], R.BAD_MAGIC, 0, id="magic-0"),
        pytest.param(b"\xa5\x00" + GOOD[2:], R.BAD_MAGIC, 1, id="magic-1"),
        pytest.param(GOOD[:7], R.TRUNCATED, 7, id="header-cut"),
        pytest.param(GOOD[:6] + b"\x00\x00" + GOOD[8:], R.BAD_LENGTH, 4, id="complement"),
        pytest.param(
            with_crc(GOOD[:4] + struct.pack("<HH", 2000, 2000 ^ 0xFFFF) + bytes(2000)),
            R.BAD_LENGTH,
            4,
            id="too-long",
        ),
        pytest.param(GOOD[:-1], R.TRUNCATED, len(GOOD) - 1, id="crc-cut"),
        pytest.param(GOOD + b"\xa5", R.TRAILING_BYTES, len(GOOD), id="trailing"),
        pytest.param(GOOD[:-4] + bytes(4), R.BAD_CRC, len(GOOD) - 4, id="crc"),
        pytest.param(GOOD[:3] + b"\x04" + GOOD[4:], R.BAD_CRC, len(GOOD) - 4, id="channel-flipped"),
        pytest.param(
            with_crc(GOOD[:2] + b"\x7f" + GOOD[3:-4]), R.UNKNOWN_RECORD_KIND, 2, id="kind-127"
        ),
        pytest.param(
            with_crc(b"\xa5\x5a\x81\x00\x07\x00\xf8\xff" + bytes(7)),
            R.BAD_LENGTH,
            4,
            id="host-time-cut",
        ),
    ],
)
def test_each_kind_of_bad_record(data, reason, offset):
    with pytest.raises(fp.FrameDecodeError) as info:
        fp.decode_record(data)
    err = info.value
    assert (err.reason, err.offset, err.what) == (reason, offset, "record")
    assert "\n" not in str(err)


# --- StreamReader ---------------------------------------------------------------------------


def test_reader_yields_records_in_order_whatever_the_chunking():
    records = [rec(i, host_time_ns=i * 1000 if i % 2 else None) for i in range(20)]
    stream = b"".join(map(fp.encode_record, records))
    for chunk in (1, 2, 3, 11, 64, len(stream)):
        out, reader = read_all(stream, chunk)
        assert out == records
        assert (reader.skipped_bytes, reader.bad_records, reader.records_read) == (0, 0, 20)


def test_reader_holds_an_incomplete_record_until_it_completes():
    data = fp.encode_record(rec(3))
    reader = fp.StreamReader()
    assert reader.feed(data[:-1]) == []
    assert reader.buffered_bytes == len(data) - 1
    assert reader.feed(data[-1:]) == [rec(3)]
    assert reader.buffered_bytes == 0


def test_reader_skips_noise_and_counts_it():
    a, b = fp.encode_record(rec(1)), fp.encode_record(rec(2))
    out, reader = read_all(b"noise\xa5" + a + b"\x5a\xa5\x00" + b + b"\xa5")
    assert out == [rec(1), rec(2)]
    assert reader.skipped_bytes == 6 + 3 + 1
    assert reader.bad_records == 0


def test_damaged_record_is_dropped_and_the_next_one_recovered():
    a, b, c = (fp.encode_record(rec(i)) for i in range(3))
    damaged = bytearray(b)
    damaged[15] ^= 0x04
    out, reader = read_all(a + bytes(damaged) + c)
    assert out == [rec(0), rec(2)]
    assert reader.bad_records == 1
    assert reader.skipped_bytes == len(b)


def test_damaged_length_does_not_swallow_the_records_behind_it():
    a, b, c, d = (fp.encode_record(rec(i)) for i in range(4))
    longer = len(b) - 12 + 30  # now claims 18 bytes of c as its own
    damaged = b[:4] + struct.pack("<HH", longer, longer ^ 0xFFFF) + b[8:]
    out, reader = read_all(a + damaged + c + d)
    assert out == [rec(0), rec(2), rec(3)]
    assert reader.bad_records == 1


def test_a_length_claiming_past_the_end_is_resolved_by_finish():
    a, b = fp.encode_record(rec(0)), fp.encode_record(rec(1))
    bogus = b"\xa5\x5a\x01\x00" + struct.pack("<HH", 1000, 1000 ^ 0xFFFF)
    reader = fp.StreamReader()
    assert reader.feed(a + bogus + b) == [rec(0)]  # waits: 1000 bytes might still come
    assert reader.finish() == [rec(1)]
    assert reader.bad_records == 1 and reader.skipped_bytes == len(bogus)
    assert reader.buffered_bytes == 0
    assert reader.feed(a) == [rec(0)]  # usable for a new stream


def test_unknown_kinds_are_skipped_whole_and_counted():
    unknown = with_crc(b"\xa5\x5a\x11\x00" + struct.pack("<HH", 3, 3 ^ 0xFFFF) + b"\xa5\x5a\x00")
    out, reader = read_all(fp.encode_record(rec(0)) + unknown + fp.encode_record(rec(1)))
    assert out == [rec(0), rec(1)]
    assert (reader.unknown_records, reader.bad_records, reader.skipped_bytes) == (
        1,
        0,
        len(unknown),
    )


def test_magic_inside_a_payload_is_harmless():
    tricky = fp.Record(fp.RecordKind.WITMOTION, fp.encode_record(rec(9)) * 2, channel=1)
    out, reader = read_all(fp.encode_record(tricky) + fp.encode_record(rec(1)), chunk=5)
    assert out == [tricky, rec(1)]
    assert reader.skipped_bytes == 0


def test_every_byte_is_accounted_for():
    a, b, c = (fp.encode_record(rec(i)) for i in range(3))
    stream = b"xx" + a + b[:-3] + b"\xa5\x5a" + c + b"\xa5\x5a\x01"
    out, reader = read_all(stream, chunk=4)
    assert sum(len(fp.encode_record(r)) for r in out) + reader.skipped_bytes == len(stream)
