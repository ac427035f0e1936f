"""Commands written to the control characteristic.

A command is one opcode byte and a fixed little-endian payload::

    opcode                      payload                       total
    0x01 START_STREAMING        -                             1 byte
    0x02 STOP_STREAMING         -                             1
    0x03 SET_SAMPLE_RATE        u16 sample_rate_hz            3
    0x04 SET_RANGES             u8 acc_range_g, u16 gyr_range_dps   4
    0x05 SET_PLACEMENT          u8 PlacementCode              2
    0x06 TIME_SYNC_REQUEST      u32 token                     5

The sensor answers each write with an ATT Write Response, or an ATT Error Response with
an application error code (PROTOCOL.md); a time-sync request is answered in addition by a
time-sync frame on the data characteristic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from firmware_protocol._checks import check_uint
from firmware_protocol._errors import DecodeErrorReason, EncodeError, FrameDecodeError
from firmware_protocol._info import PlacementCode

_U8, _U16, _U32 = 0xFF, 0xFFFF, 0xFFFF_FFFF


class ControlOpcode(IntEnum):
    """First byte of a control command."""

    START_STREAMING = 0x01
    STOP_STREAMING = 0x02
    SET_SAMPLE_RATE = 0x03
    SET_RANGES = 0x04
    SET_PLACEMENT = 0x05
    TIME_SYNC_REQUEST = 0x06


# Payload layout per opcode: struct format and the ControlCommand fields it carries.
_PAYLOADS: dict[ControlOpcode, tuple[struct.Struct, tuple[str, ...]]] = {
    ControlOpcode.START_STREAMING: (struct.Struct("<"), ()),
    ControlOpcode.STOP_STREAMING: (struct.Struct("<"), ()),
    ControlOpcode.SET_SAMPLE_RATE: (struct.Struct("<H"), ("sample_rate_hz",)),
    ControlOpcode.SET_RANGES: (struct.Struct("<BH"), ("acc_range_g", "gyr_range_dps")),
    ControlOpcode.SET_PLACEMENT: (struct.Struct("<B"), ("placement",)),
    ControlOpcode.TIME_SYNC_REQUEST: (struct.Struct("<I"), ("token",)),
}
_FIELDS = ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "placement", "token")
# Offset of each field in the command, for error messages.
_OFFSETS = {"sample_rate_hz": 1, "acc_range_g": 1, "gyr_range_dps": 2, "placement": 1, "token": 1}
_LIMITS = {
    "sample_rate_hz": (1, _U16),
    "acc_range_g": (1, _U8),
    "gyr_range_dps": (1, _U16),
    "placement": (0, 4),
    "token": (0, _U32),
}


@dataclass(frozen=True, slots=True)
class ControlCommand:
    """One command for the control characteristic.

    Build commands with the class methods (``ControlCommand.set_sample_rate(100)``); the
    fields an opcode does not use are None.

    Attributes
    ----------
    opcode : ControlOpcode
        What to do.
    sample_rate_hz : int or None
        SET_SAMPLE_RATE: requested rate in Hz, 1..65535. The sensor picks its nearest
        supported rate; read the info value for the period it chose.
    acc_range_g : int or None
        SET_RANGES: accelerometer full scale in ±g, 1..255.
    gyr_range_dps : int or None
        SET_RANGES: gyroscope full scale in ±°/s, 1..65535.
    placement : PlacementCode or None
        SET_PLACEMENT: placement to store in the sensor's flash.
    token : int or None
        TIME_SYNC_REQUEST: u32 the sensor echoes in its time-sync frame.

    Raises
    ------
    EncodeError
        If the fields set do not match the opcode or a value is out of range.
    """

    opcode: ControlOpcode
    sample_rate_hz: int | None = None
    acc_range_g: int | None = None
    gyr_range_dps: int | None = None
    placement: PlacementCode | None = None
    token: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "opcode", ControlOpcode(self.opcode))
        except ValueError:
            raise EncodeError(f"unknown opcode {self.opcode!r}") from None
        used = _PAYLOADS[self.opcode][1]
        for name in _FIELDS:
            value = getattr(self, name)
            if name not in used:
                if value is not None:
                    raise EncodeError(f"{self.opcode.name} takes no {name}")
                continue
            low, high = _LIMITS[name]
            check_uint(name, value, high, minimum=low)
        if self.placement is not None:
            object.__setattr__(self, "placement", PlacementCode(self.placement))

    @classmethod
    def start_streaming(cls) -> ControlCommand:
        """Start notifying data frames (the counter restarts at 0)."""
        return cls(ControlOpcode.START_STREAMING)

    @classmethod
    def stop_streaming(cls) -> ControlCommand:
        """Stop notifying data frames."""
        return cls(ControlOpcode.STOP_STREAMING)

    @classmethod
    def set_sample_rate(cls, sample_rate_hz: int) -> ControlCommand:
        """Request a sample rate in Hz (only while not streaming)."""
        return cls(ControlOpcode.SET_SAMPLE_RATE, sample_rate_hz=sample_rate_hz)

    @classmethod
    def set_ranges(cls, acc_range_g: int, gyr_range_dps: int) -> ControlCommand:
        """Request full-scale ranges in ±g and ±°/s (only while not streaming)."""
        return cls(ControlOpcode.SET_RANGES, acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps)

    @classmethod
    def set_placement(cls, placement: PlacementCode) -> ControlCommand:
        """Store the sensor's placement in its flash."""
        return cls(ControlOpcode.SET_PLACEMENT, placement=placement)

    @classmethod
    def time_sync_request(cls, token: int) -> ControlCommand:
        """Ask for a time-sync frame echoing `token` (u32)."""
        return cls(ControlOpcode.TIME_SYNC_REQUEST, token=token)


def encode_control(command: ControlCommand) -> bytes:
    """Encode a command for the control characteristic (1 to 5 bytes)."""
    layout, names = _PAYLOADS[command.opcode]
    return bytes([command.opcode]) + layout.pack(*(getattr(command, n) for n in names))


def decode_control(data: bytes | bytearray | memoryview) -> ControlCommand:
    """Decode a control command, as firmware (or a test double of it) does.

    Raises
    ------
    FrameDecodeError
        ``TRUNCATED`` (empty, or a payload cut short), ``UNKNOWN_COMMAND`` for an
        undefined opcode (offset 0), ``TRAILING_BYTES`` past the payload, ``BAD_VALUE``
        for a zero rate or range or an unknown placement code (offset of the field).
    """
    data = bytes(data)
    what = "control command"
    r = DecodeErrorReason
    if not data:
        raise FrameDecodeError(r.TRUNCATED, 0, "empty command", what=what)
    try:
        opcode = ControlOpcode(data[0])
    except ValueError:
        raise FrameDecodeError(
            r.UNKNOWN_COMMAND, 0, f"unknown opcode 0x{data[0]:02x}", what=what
        ) from None
    layout, names = _PAYLOADS[opcode]
    size = 1 + layout.size
    if len(data) != size:
        reason = r.TRUNCATED if len(data) < size else r.TRAILING_BYTES
        raise FrameDecodeError(
            reason,
            min(len(data), size),
            f"{opcode.name} is {size} bytes, got {len(data)}",
            what=what,
        )
    values = dict(zip(names, layout.unpack_from(data, 1), strict=True))
    for name, value in values.items():
        low, high = _LIMITS[name]
        if not low <= value <= high:
            raise FrameDecodeError(
                r.BAD_VALUE, _OFFSETS[name], f"{name} {value} (expected {low}..{high})", what=what
            )
    return ControlCommand(opcode, **values)
