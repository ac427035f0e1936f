"""Off-the-shelf sensors: the WitMotion BLE 5.0 IMU family (WT901BLECL, BWT901BLE5.0).

What is implemented, and where it comes from (PROTOCOL.md, "WitMotion", has the detail):

- GATT: service ``0000ffe5-…``, notify ``0000ffe4-…``, write ``0000ffe9-…``, all with the
  tail ``-0000-1000-8000-00805f9a34fb``. Note ``9a``: this is *not* the Bluetooth base UUID
  (``…9b34fb``), so the 16-bit forms 0xFFE5/0xFFE4/0xFFE9 do not match; compare in full.
  Source: WitMotion's own BLE 5.0 Python SDK (``device_model.py`` in
  WITMOTION/WitBluetooth_BWT901BLE5_0), which uses these strings verbatim.
- Notifications: 20-byte packets. ``55 61`` + 9 × int16 LE: acceleration x, y, z
  (÷32768 × 16 g), angular rate x, y, z (÷32768 × 2000 °/s), angle roll, pitch, yaw
  (÷32768 × 180°). ``55 71`` + u16 start register + 8 × int16 register values: the answer
  to a read-register command. No checksum, no counter, no timestamp.
- Commands (5 bytes, ``FF AA reg lo hi``): unlock ``FF AA 69 88 B5`` (valid ~10 s), save
  ``FF AA 00 00 00``, read ``FF AA 27 reg 00``, return rate ``FF AA 03 code 00``.
  Sources: the WT901BLECL datasheet ("Bluetooth 5.0 communication protocol") and the
  same SDK (``get_readBytes``, ``get_writeBytes``, ``unlock``, ``save``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware_protocol._errors import EncodeError
from firmware_protocol._frames import SampleBatch
from firmware_protocol._info import STANDARD_GRAVITY_MPS2

#: WitMotion BLE 5.0 service (a vendor UUID, not the SIG base: note ``9a34fb``).
WITMOTION_SERVICE_UUID: str = "0000ffe5-0000-1000-8000-00805f9a34fb"
#: Characteristic that notifies ``55 61`` data and ``55 71`` register packets.
WITMOTION_NOTIFY_UUID: str = "0000ffe4-0000-1000-8000-00805f9a34fb"
#: Characteristic that takes ``FF AA`` commands (write without response).
WITMOTION_WRITE_UUID: str = "0000ffe9-0000-1000-8000-00805f9a34fb"

#: Length of every WitMotion BLE 5.0 packet in bytes.
WITMOTION_PACKET_SIZE: int = 20

_HEAD, _FLAG_DATA, _FLAG_REGISTERS = 0x55, 0x61, 0x71
_ACC_MPS2_PER_LSB = 16.0 * STANDARD_GRAVITY_MPS2 / 32768.0
_GYR_RPS_PER_LSB = math.radians(2000.0) / 32768.0
_ANGLE_RAD_PER_LSB = math.radians(180.0) / 32768.0

#: Return-rate codes of register 0x03 (RRATE) on the BLE 5.0 models, by rate in Hz.
#: From the WT901BLECL datasheet; the serial WT901 models differ above 100 Hz
#: (0x0A = 125 Hz, 0x0B = 200 Hz there), so the table is not shared with them.
WITMOTION_RATE_CODES: dict[float, int] = {
    0.2: 0x01,
    0.5: 0x02,
    1.0: 0x03,
    2.0: 0x04,
    5.0: 0x05,
    10.0: 0x06,
    20.0: 0x07,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0A,
}


@dataclass(frozen=True, slots=True)
class WitMotionRegisters:
    """A ``55 71`` packet: eight consecutive registers, the answer to a read command.

    Attributes
    ----------
    start_register : int
        Address of the first register, u16 (the one asked for).
    values : tuple of int
        The 8 register values from `start_register` on, as int16; use
        ``value & 0xFFFF`` for registers the datasheet calls unsigned.
    frame_index : int
        Index of the notification that carried the packet.
    """

    start_register: int
    values: tuple[int, ...]
    frame_index: int


@dataclass(frozen=True, slots=True)
class WitMotionBatch:
    """Decoded WitMotion notifications.

    Attributes
    ----------
    samples : SampleBatch
        Acceleration in m/s² and angular rate in rad/s, shape (N, 3) each, with
        ``counter`` and ``sensor_time_us`` None (the sensor sends neither; the host
        stamps arrival times per notification, joined through ``frame_index``).
    roll_pitch_yaw_rad : ndarray of float64, shape (N, 3)
        The sensor's own Euler angles (roll, pitch, yaw) in rad, for cross-checks.
    registers : tuple of WitMotionRegisters
        Register packets, in arrival order; never mixed into the samples.
    skipped_bytes : int
        Bytes that were not part of a packet (garbage, or a packet cut short by the end
        of its notification).
    """

    samples: SampleBatch
    roll_pitch_yaw_rad: NDArray[np.float64]
    registers: tuple[WitMotionRegisters, ...]
    skipped_bytes: int


def _packet_starts(buf: NDArray[np.uint8], fits: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Start offsets of the packets a byte-by-byte scanner would take, vectorised.

    A scanner at ``pos`` takes the first packet start at or after ``pos`` and moves 20
    bytes on. In a clean stream the starts form runs 20 bytes apart; the loop below runs
    once per run (once per stretch of garbage), not once per packet.
    """
    m = len(buf)
    if m < WITMOTION_PACKET_SIZE:
        return np.zeros(0, dtype=np.intp)
    is_start = np.zeros(m + WITMOTION_PACKET_SIZE, dtype=bool)
    flag = buf[1:]
    is_start[: m - 1] = (buf[:-1] == _HEAD) & ((flag == _FLAG_DATA) | (flag == _FLAG_REGISTERS))
    is_start[:m] &= fits
    candidates = np.flatnonzero(is_start)
    if len(candidates) == 0:
        return candidates
    # run[p] = number of consecutive starts p, p + 20, p + 40, ...: per column of a
    # (rows, 20) view, the distance to the next non-start row.
    rows = len(is_start) // WITMOTION_PACKET_SIZE
    grid = is_start[: rows * WITMOTION_PACKET_SIZE].reshape(rows, WITMOTION_PACKET_SIZE)
    row_idx = np.arange(rows)[:, None]
    next_gap = np.minimum.accumulate(np.where(grid, rows, row_idx)[::-1], axis=0)[::-1]
    run = (next_gap - row_idx).ravel()
    starts = []
    pos = 0
    while True:
        i = int(np.searchsorted(candidates, pos))
        if i == len(candidates):
            break
        first = int(candidates[i])
        count = int(run[first])
        starts.append(first + WITMOTION_PACKET_SIZE * np.arange(count))
        pos = first + WITMOTION_PACKET_SIZE * count
    return np.concatenate(starts)


def decode_witmotion(notifications: Sequence[bytes | bytearray | memoryview]) -> WitMotionBatch:
    """Decode notifications from a WitMotion BLE 5.0 sensor.

    Each notification may hold one or several 20-byte packets back to back. ``55 61``
    packets become samples; ``55 71`` packets become :class:`WitMotionRegisters`; any
    other byte is skipped and counted.

    Parameters
    ----------
    notifications : sequence of bytes-like
        Notification values from :data:`WITMOTION_NOTIFY_UUID`, in arrival order.

    Returns
    -------
    WitMotionBatch
        Samples (SI, sensor frame), Euler angles, register packets, skip count.

    Notes
    -----
    A packet is never joined across two notifications. 20 bytes fit even the default
    MTU, so the sensor has no reason to split one, and the packets carry no checksum: a
    fragment glued to the start of the next notification would pass as a sample and
    swallow the real one that follows. Any junk (even a ``55 61`` inside garbage) can
    still look like a packet, since nothing is there to check it; real garbage from the
    sensor is rare.
    """
    if isinstance(notifications, bytes | bytearray | memoryview):
        raise TypeError("notifications must be a sequence; wrap a single notification in a list")
    lengths = np.fromiter((len(x) for x in notifications), dtype=np.intp, count=len(notifications))
    buf = np.frombuffer(b"".join(notifications), dtype=np.uint8)
    ends = np.cumsum(lengths)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    # A packet must end inside the notification it starts in.
    fits = np.arange(len(buf)) + WITMOTION_PACKET_SIZE <= ends[owner]
    starts = _packet_starts(buf, fits)
    packets = buf[starts[:, None] + np.arange(WITMOTION_PACKET_SIZE)]
    values = packets[:, 2:].copy().view("<i2")
    is_data = packets[:, 1] == _FLAG_DATA
    data = values[is_data]
    samples = SampleBatch(
        acc_mps2=data[:, 0:3] * _ACC_MPS2_PER_LSB,
        gyr_rps=data[:, 3:6] * _GYR_RPS_PER_LSB,
        frame_index=owner[starts[is_data]].astype(np.int64),
    )
    regs = values[~is_data]
    registers = tuple(
        WitMotionRegisters(row[0] & 0xFFFF, tuple(row[1:]), i)
        for row, i in zip(regs.tolist(), owner[starts[~is_data]].tolist(), strict=True)
    )
    return WitMotionBatch(
        samples=samples,
        roll_pitch_yaw_rad=data[:, 6:9] * _ANGLE_RAD_PER_LSB,
        registers=registers,
        skipped_bytes=len(buf) - WITMOTION_PACKET_SIZE * len(starts),
    )


def _command(register: int, value: int) -> bytes:
    if not 0 <= register <= 0xFF:
        raise EncodeError(f"register must be in 0..255, got {register!r}")
    if not -0x8000 <= value <= 0xFFFF:
        raise EncodeError(f"register value must fit 16 bits, got {value!r}")
    value &= 0xFFFF
    return bytes([0xFF, 0xAA, register, value & 0xFF, value >> 8])


def witmotion_write_register(register: int, value: int) -> bytes:
    """Command ``FF AA reg lo hi``: write a 16-bit register (unlock first, save after)."""
    return _command(register, value)


def witmotion_unlock() -> bytes:
    """Command ``FF AA 69 88 B5``: allow register writes for about 10 s."""
    return _command(0x69, 0xB588)


def witmotion_save() -> bytes:
    """Command ``FF AA 00 00 00``: store the written registers in flash."""
    return _command(0x00, 0x0000)


def witmotion_read_register(register: int) -> bytes:
    """Command ``FF AA 27 reg 00``: ask for a ``55 71`` packet of 8 registers from `register`."""
    if not 0 <= register <= 0xFF:
        raise EncodeError(f"register must be in 0..255, got {register!r}")
    return _command(0x27, register)


def witmotion_set_return_rate(rate_hz: float) -> bytes:
    """Command ``FF AA 03 code 00``: set the output rate (register 0x03, RRATE).

    Send :func:`witmotion_unlock` before and :func:`witmotion_save` after to keep the
    rate across power cycles.

    Parameters
    ----------
    rate_hz : float
        One of 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200 Hz.

    Raises
    ------
    EncodeError
        For any other rate.
    """
    code = WITMOTION_RATE_CODES.get(float(rate_hz))
    if code is None:
        supported = ", ".join(f"{r:g}" for r in WITMOTION_RATE_CODES)
        raise EncodeError(
            f"WitMotion return rate {rate_hz!r} Hz not supported; use one of {supported}"
        )
    return _command(0x03, code)
