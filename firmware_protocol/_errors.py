"""The exception tree of :mod:`firmware_protocol`.

::

    ProtocolError                  root: catch this to catch everything the package raises
     ├── FrameDecodeError          bytes that are not a valid frame, info, command or record;
     │                             .reason (DecodeErrorReason), .offset (byte index),
     │                             .frame_index (position in a batch, or None), .what
     └── EncodeError               a value the wire format cannot carry (also a ValueError)

Decoders raise only :class:`FrameDecodeError`, whatever bytes they are given: never
``IndexError``, ``struct.error`` or ``ValueError``. :class:`EncodeError` is for the other
direction (a count outside int16, an unknown placement code, an ATT MTU below 23) and
subclasses ``ValueError`` so that generic argument checks still catch it.
"""

from __future__ import annotations

from enum import StrEnum
from functools import partial


class DecodeErrorReason(StrEnum):
    """Why a byte string was rejected. The value is a stable snake_case name."""

    #: Fewer bytes than the structure needs; ``offset`` is the first missing byte.
    TRUNCATED = "truncated"
    #: The protocol version (high nibble of a frame's first byte, or the info's first
    #: byte) is not one this decoder speaks.
    BAD_VERSION = "bad_version"
    #: The frame type (low nibble of a frame's first byte) is not defined.
    UNKNOWN_FRAME_TYPE = "unknown_frame_type"
    #: A defined frame type, but not the one this call decodes (a time-sync frame given
    #: to :func:`decode_frames`, a data frame given to :func:`decode_time_sync`).
    UNEXPECTED_FRAME_TYPE = "unexpected_frame_type"
    #: The sample count of a data frame is 0 or above the 42 that fit in an ATT value.
    BAD_SAMPLE_COUNT = "bad_sample_count"
    #: More bytes than the structure's own length fields account for.
    TRAILING_BYTES = "trailing_bytes"
    #: A field holds a value outside its domain (an unknown chip or placement code, a
    #: zero sample period or scale factor, a reserved byte that is not zero).
    BAD_VALUE = "bad_value"
    #: A control command's opcode is not defined.
    UNKNOWN_COMMAND = "unknown_command"
    #: A byte-stream record does not start with the magic ``A5 5A``.
    BAD_MAGIC = "bad_magic"
    #: A record's length field disagrees with its complement or exceeds the maximum.
    BAD_LENGTH = "bad_length"
    #: A record's CRC-32 does not match its contents.
    BAD_CRC = "bad_crc"
    #: A record kind this decoder does not know (intact, but not understood).
    UNKNOWN_RECORD_KIND = "unknown_record_kind"


class ProtocolError(Exception):
    """Root of every exception raised by :mod:`firmware_protocol`."""


class FrameDecodeError(ProtocolError):
    """Bytes that do not decode: a frame, info value, control command or record.

    The message is one line: what was being decoded, what was wrong, and at which byte,
    e.g. ``data frame 3: sample count 0 (expected 1..42) at byte 1``.

    Attributes
    ----------
    reason : DecodeErrorReason
        What was wrong, as an enum to branch on.
    offset : int
        Index of the byte where decoding went wrong, counted from the start of the
        structure (for :data:`DecodeErrorReason.TRUNCATED`, the first missing byte, i.e.
        the length that was received).
    frame_index : int or None
        Position of the bad frame in the sequence given to a batch decoder, or None when
        a single structure was decoded.
    what : str
        The kind of structure: ``"data frame"``, ``"time-sync frame"``, ``"info"``,
        ``"control command"``, ``"record"``.
    detail : str
        The human-readable part of the message, without position.
    """

    def __init__(
        self,
        reason: DecodeErrorReason,
        offset: int,
        detail: str,
        *,
        what: str = "data frame",
        frame_index: int | None = None,
    ) -> None:
        self.reason = reason
        self.offset = offset
        self.detail = detail
        self.what = what
        self.frame_index = frame_index
        where = what if frame_index is None else f"{what} {frame_index}"
        super().__init__(f"{where}: {detail} at byte {offset}")

    def __reduce__(self) -> tuple:
        # Keyword-only fields do not survive Exception's default pickling (args only);
        # errors cross process boundaries in executors, so rebuild them in full.
        rebuild = partial(FrameDecodeError, what=self.what, frame_index=self.frame_index)
        return (rebuild, (self.reason, self.offset, self.detail))

    def at_index(self, frame_index: int) -> FrameDecodeError:
        """Return a copy that names the frame's position in a batch."""
        return FrameDecodeError(
            self.reason, self.offset, self.detail, what=self.what, frame_index=frame_index
        )


class EncodeError(ProtocolError, ValueError):
    """A value that the wire format cannot carry.

    Raised by encoders and by the constructors of wire types (:class:`SensorInfo`,
    :class:`ControlCommand`, :class:`TimeSync`, :class:`Record`): a field out of its
    integer range, an unknown enum code, a count outside int16, an ATT MTU below 23.
    """
