"""The byte-stream envelope: records for raw frame logs, serial ports and network relays.

A GATT notification arrives whole and checked by the link layer; a byte stream does not,
so each frame travels in a record a reader can find, bound and verify::

    off   size field
     0     2   magic A5 5A
     2     1   kind: bits 0-6 RecordKind, bit 7 set if the body starts with host time
     3     1   channel: which sensor (placement code, or the host's channel id)
     4     2   L = body length, 0..1024
     6     2   L ^ 0xFFFF (a bad length is caught before waiting for L bytes)
     8     L   body = [u64 host_time_ns] + payload
     8+L   4   CRC-32 (zlib.crc32, IEEE 802.3) of bytes 2 .. 8+L-1

All integers little-endian. A record is 12 bytes plus its body.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from firmware_protocol._checks import check_uint
from firmware_protocol._errors import DecodeErrorReason, EncodeError, FrameDecodeError

#: First two bytes of every record.
RECORD_MAGIC: bytes = b"\xa5\x5a"
#: Largest body (host time + payload) a record may declare, in bytes. A reader treats a
#: larger length as damage; 1024 leaves room for a 512-byte ATT value and the host time.
MAX_RECORD_BODY: int = 1024
#: Bytes of a record around its body: header (8) and CRC (4).
RECORD_OVERHEAD: int = 12
#: Bit of the kind byte that says the body starts with a u64 host time in ns.
HOST_TIME_FLAG: int = 0x80

_HEADER = struct.Struct("<2sBBHH")
_U64 = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER_SIZE = _HEADER.size


class RecordKind(IntEnum):
    """What a record's payload is (bits 0-6 of the kind byte)."""

    #: A notification from the data characteristic, verbatim (data or time-sync frame).
    FRAME = 1
    #: The value read from the info characteristic: makes a log self-describing.
    INFO = 2
    #: A notification from a WitMotion sensor, verbatim.
    WITMOTION = 3
    #: A command the host wrote to the control characteristic (with its send time, this
    #: is the t_send of a time-sync exchange).
    CONTROL = 4


@dataclass(frozen=True, slots=True)
class Record:
    """One record of the byte-stream envelope.

    Attributes
    ----------
    kind : RecordKind
        What the payload is.
    payload : bytes
        The frame, info value, WitMotion notification or control command, verbatim.
    channel : int
        Which sensor, 0..255: the placement code where the sensor is provisioned, else
        the host's channel id. Default: 0.
    host_time_ns : int or None
        Host clock (monotonic, ns, u64) when the notification arrived or the command was
        sent; None where there is no host (firmware writing to a serial port).
        Default: None.

    Raises
    ------
    EncodeError
        If a field does not fit its wire field.
    """

    kind: RecordKind
    payload: bytes
    channel: int = 0
    host_time_ns: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", RecordKind(self.kind))
        except ValueError:
            raise EncodeError(f"unknown record kind {self.kind!r}") from None
        object.__setattr__(self, "payload", bytes(self.payload))
        check_uint("channel", self.channel, 0xFF)
        room = MAX_RECORD_BODY
        if self.host_time_ns is not None:
            check_uint("host_time_ns", self.host_time_ns, (1 << 64) - 1)
            room -= _U64.size
        if len(self.payload) > room:
            raise EncodeError(f"payload of {len(self.payload)} bytes exceeds {room}")


def encode_record(record: Record) -> bytes:
    """Encode one record of the byte-stream envelope.

    Returns
    -------
    bytes
        12 bytes plus the body (payload, and 8 bytes of host time if present).
    """
    kind = int(record.kind)
    body = record.payload
    if record.host_time_ns is not None:
        kind |= HOST_TIME_FLAG
        body = _U64.pack(record.host_time_ns) + body
    header = _HEADER.pack(RECORD_MAGIC, kind, record.channel, len(body), len(body) ^ 0xFFFF)
    crc = zlib.crc32(body, zlib.crc32(header[2:]))
    return header + body + _CRC.pack(crc)


def _record_error(reason: DecodeErrorReason, offset: int, detail: str) -> FrameDecodeError:
    return FrameDecodeError(reason, offset, detail, what="record")


def _parse_body(kind_byte: int, channel: int, body: bytes) -> Record | None:
    """Build the record of a CRC-checked body; None if its kind is unknown."""
    if kind_byte & 0x7F not in RecordKind._value2member_map_:
        return None
    host_time = None
    if kind_byte & HOST_TIME_FLAG:
        (host_time,) = _U64.unpack_from(body)
        body = body[_U64.size :]
    return Record(RecordKind(kind_byte & 0x7F), body, channel, host_time)


def decode_record(data: bytes | bytearray | memoryview) -> Record:
    """Decode exactly one record.

    Raises
    ------
    FrameDecodeError
        ``BAD_MAGIC`` (offset 0 or 1), ``TRUNCATED``, ``BAD_LENGTH`` (offset 4) for a
        length that disagrees with its complement, exceeds 1024 or is shorter than the
        host time it announces, ``TRAILING_BYTES`` after the CRC, ``BAD_CRC`` (offset of
        the CRC), ``UNKNOWN_RECORD_KIND`` (offset 2).
    """
    data = bytes(data)
    r = DecodeErrorReason
    for i, byte in enumerate(RECORD_MAGIC):
        if len(data) <= i:
            raise _record_error(
                r.TRUNCATED, i, f"{len(data)} bytes (expected at least {RECORD_OVERHEAD})"
            )
        if data[i] != byte:
            raise _record_error(
                r.BAD_MAGIC, i, f"byte 0x{data[i]:02x} where magic 0x{byte:02x} belongs"
            )
    if len(data) < _HEADER_SIZE:
        raise _record_error(
            r.TRUNCATED, len(data), f"{len(data)} bytes (expected at least {RECORD_OVERHEAD})"
        )
    _, kind_byte, channel, length, length_inv = _HEADER.unpack_from(data)
    if length ^ length_inv != 0xFFFF or length > MAX_RECORD_BODY:
        raise _record_error(
            r.BAD_LENGTH,
            4,
            f"length {length} with complement 0x{length_inv:04x} (max {MAX_RECORD_BODY})",
        )
    end = _HEADER_SIZE + length + _CRC.size
    if len(data) != end:
        reason = r.TRUNCATED if len(data) < end else r.TRAILING_BYTES
        raise _record_error(reason, min(len(data), end), f"{len(data)} bytes (expected {end})")
    (crc,) = _CRC.unpack_from(data, end - _CRC.size)
    if zlib.crc32(data[2 : end - _CRC.size]) != crc:
        raise _record_error(
            r.BAD_CRC, end - _CRC.size, f"CRC-32 0x{crc:08x} does not match the record"
        )
    if kind_byte & HOST_TIME_FLAG and length < _U64.size:
        raise _record_error(r.BAD_LENGTH, 4, f"body of {length} bytes cannot hold the host time")
    record = _parse_body(kind_byte, channel, data[_HEADER_SIZE : end - _CRC.size])
    if record is None:
        raise _record_error(r.UNKNOWN_RECORD_KIND, 2, f"unknown record kind {kind_byte & 0x7F}")
    return record


class StreamReader:
    """Incremental reader of a byte stream of records that survives damage.

    Feed it bytes as they come; it returns every record completed so far. After damage
    (bytes flipped, lost or inserted) it resynchronises on the next magic whose length
    and CRC check out. It never yields a record whose CRC fails, so it never invents
    samples; a false magic inside damaged bytes costs one byte of scanning.

    Attributes
    ----------
    skipped_bytes : int
        Bytes received that were not delivered in a record: noise, damaged records,
        records of unknown kind, and at :meth:`finish` an unfinished tail.
    bad_records : int
        Records with a valid header whose CRC failed, CRC-valid records whose body
        contradicts their header, and at :meth:`finish` a record cut off by the end.
    unknown_records : int
        Intact records of a kind this reader does not know (from newer firmware);
        their bytes count as skipped.
    records_read : int
        Records returned so far.

    Notes
    -----
    Every decision waits until the bytes it depends on have arrived, so the records and
    counts do not depend on how the stream is split into :meth:`feed` calls.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0
        self.bad_records = 0
        self.unknown_records = 0
        self.records_read = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held back waiting for the rest of a record."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Record]:
        """Add received bytes; return the records they complete, in stream order."""
        self._buf += data
        return self._scan(final=False)

    def finish(self) -> list[Record]:
        """Declare the end of the stream: resolve and empty the buffer.

        A record cut short by the end is counted as bad and its bytes as skipped;
        records that a damaged length field had hidden behind it are still found.
        The reader can then be fed a new stream.
        """
        return self._scan(final=True)

    def _skip(self, n: int) -> None:
        self.skipped_bytes += n

    def _scan(self, *, final: bool) -> list[Record]:
        buf = self._buf
        n = len(buf)
        pos = 0
        out: list[Record] = []
        while pos < n:
            start = buf.find(RECORD_MAGIC, pos)
            if start < 0:
                # A trailing first magic byte may be completed by the next feed.
                keep = 1 if not final and buf[n - 1] == RECORD_MAGIC[0] else 0
                self._skip(n - keep - pos)
                pos = n - keep
                break
            self._skip(start - pos)
            pos = start
            if n - pos < _HEADER_SIZE:
                if final:
                    self._skip(1)
                    pos += 1
                    continue
                break
            _, kind_byte, channel, length, length_inv = _HEADER.unpack_from(buf, pos)
            if length ^ length_inv != 0xFFFF or length > MAX_RECORD_BODY:
                self._skip(1)  # a false magic, or a damaged header: rescan from pos + 1
                pos += 1
                continue
            body_end = pos + _HEADER_SIZE + length
            end = body_end + _CRC.size
            if end > n:
                if final:
                    self.bad_records += 1
                    self._skip(1)
                    pos += 1
                    continue
                break
            (crc,) = _CRC.unpack_from(buf, body_end)
            if zlib.crc32(buf[pos + 2 : body_end]) != crc:
                # Resync one byte on, not after the declared length: a damaged length
                # must not swallow the intact records behind it.
                self.bad_records += 1
                self._skip(1)
                pos += 1
                continue
            if kind_byte & HOST_TIME_FLAG and length < _U64.size:
                self.bad_records += 1
                record = None
            else:
                record = _parse_body(kind_byte, channel, bytes(buf[pos + _HEADER_SIZE : body_end]))
                if record is None:
                    self.unknown_records += 1
            if record is None:
                self._skip(end - pos)
            else:
                out.append(record)
            pos = end
        del buf[:pos]
        self.records_read += len(out)
        return out
