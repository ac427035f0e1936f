"""The info characteristic: what a sensor is, how it is set up, and how to scale its counts.

Layout (22 bytes, little-endian; fits one ATT Read at the default MTU, which returns up to
22 bytes)::

    off size field
     0   u8  protocol_version        1
     1   u8  chip                    ImuChip
     2   u8  placement               PlacementCode (0 = unset)
     3   u8  acc_range_g             full scale, ±g
     4   u16 gyr_range_dps           full scale, ±°/s
     6   u8  fw_major
     7   u8  fw_minor
     8   u8  fw_patch
     9   u8  reserved                sent as 0, ignored on receipt
    10   u32 period_us               sample period, µs
    14   u32 acc_scale_ng_per_lsb    accelerometer sensitivity, 1e-9 g per count
    18   u32 gyr_scale_ndps_per_lsb  gyroscope sensitivity, 1e-9 °/s per count

Later firmware may append fields; a host ignores bytes past offset 22.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum

from firmware_protocol._checks import check_uint
from firmware_protocol._errors import DecodeErrorReason, EncodeError, FrameDecodeError
from firmware_protocol._gatt import PROTOCOL_VERSION

#: Standard gravity in m/s² (ISO 80000-3), the g of accelerometer datasheets. Kept here
#: rather than imported from processing.consts: this package depends on numpy only.
STANDARD_GRAVITY_MPS2: float = 9.80665

#: Size of the info value this version writes, in bytes.
INFO_SIZE: int = 22

_INFO = struct.Struct("<BBBBHBBBBIII")
_U8, _U16, _U32 = 0xFF, 0xFFFF, 0xFFFF_FFFF


class ImuChip(IntEnum):
    """The MEMS IMU on the board. The value is the wire code (u8)."""

    UNKNOWN = 0
    MPU6050 = 1
    MPU6500 = 2
    MPU9250 = 3
    ICM20948 = 4
    ICM42605 = 5
    ICM42688P = 6
    BMI160 = 7
    BMI270 = 8
    LSM6DS3 = 9
    LSM6DSO = 10
    LSM6DSOX = 11
    #: The squatsense simulator (no hardware).
    SIMULATED = 255


_PLACEMENT_LABELS = ("unset", "sacrum", "lumbar", "shin_left", "shin_right")


class PlacementCode(IntEnum):
    """Where a sensor is strapped, as provisioned in its flash. The value is the wire code.

    :attr:`label` gives the name used in every squatsense file format (the values of
    ``processing.consts.Placement``), ``"unset"`` for code 0.
    """

    UNSET = 0
    SACRUM = 1
    LUMBAR = 2
    SHIN_LEFT = 3
    SHIN_RIGHT = 4

    @property
    def label(self) -> str:
        """The placement's name: ``"unset"``, ``"sacrum"``, ``"lumbar"``, ``"shin_left"``, ..."""
        return _PLACEMENT_LABELS[self.value]

    @classmethod
    def from_label(cls, label: str) -> PlacementCode:
        """Return the code for a placement name such as ``"shin_left"``.

        Raises
        ------
        EncodeError
            If `label` is not one of the five names.
        """
        try:
            return cls(_PLACEMENT_LABELS.index(label))
        except ValueError:
            raise EncodeError(
                f"unknown placement {label!r}, expected one of {', '.join(_PLACEMENT_LABELS)}"
            ) from None


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """The decoded info characteristic of one sensor.

    Scale factors are carried as integers in datasheet units (nano-g and nano-°/s per
    count) because sensitivities are not always range/32768 (an MPU-6050 at ±2000 °/s
    gives 16.4 counts per °/s, not 16.384) and integers keep the C encoder free of floats.
    The SI properties convert them once.

    Attributes
    ----------
    chip : ImuChip
        The IMU chip.
    acc_range_g : int
        Accelerometer full scale in ±g, 1..255 (2, 4, 8 or 16 on common chips).
    gyr_range_dps : int
        Gyroscope full scale in ±°/s, 1..65535 (125..4000 on common chips).
    acc_scale_ng_per_lsb : int
        Accelerometer sensitivity in 1e-9 g per count, 1..2³²-1 (488281 at ±16 g).
    gyr_scale_ndps_per_lsb : int
        Gyroscope sensitivity in 1e-9 °/s per count, 1..2³²-1 (60975610 for 16.4 LSB/(°/s)).
    period_us : int
        Sample period in µs, 1..2³²-1; sample ``i`` of a frame is ``period_us * i`` after
        the frame's first sample on the sensor clock.
    placement : PlacementCode
        Provisioned placement. Default: ``PlacementCode.UNSET``.
    firmware_version : tuple of int
        ``(major, minor, patch)``, each 0..255. Default: ``(0, 0, 0)``.
    protocol_version : int
        Protocol version the sensor speaks. Default: :data:`PROTOCOL_VERSION`.

    Raises
    ------
    EncodeError
        If a field is outside the range its wire field can carry, or zero where zero makes
        no sense (scales, period, ranges).
    """

    chip: ImuChip
    acc_range_g: int
    gyr_range_dps: int
    acc_scale_ng_per_lsb: int
    gyr_scale_ndps_per_lsb: int
    period_us: int
    placement: PlacementCode = PlacementCode.UNSET
    firmware_version: tuple[int, int, int] = (0, 0, 0)
    protocol_version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "chip", ImuChip(self.chip))
            object.__setattr__(self, "placement", PlacementCode(self.placement))
        except ValueError as exc:
            raise EncodeError(str(exc)) from None
        check_uint("protocol_version", self.protocol_version, _U8, minimum=1)
        check_uint("acc_range_g", self.acc_range_g, _U8, minimum=1)
        check_uint("gyr_range_dps", self.gyr_range_dps, _U16, minimum=1)
        check_uint("acc_scale_ng_per_lsb", self.acc_scale_ng_per_lsb, _U32, minimum=1)
        check_uint("gyr_scale_ndps_per_lsb", self.gyr_scale_ndps_per_lsb, _U32, minimum=1)
        check_uint("period_us", self.period_us, _U32, minimum=1)
        version = tuple(self.firmware_version)
        if len(version) != 3:
            raise EncodeError(f"firmware_version must be (major, minor, patch), got {version!r}")
        for part in version:
            check_uint("firmware_version part", part, _U8)
        object.__setattr__(self, "firmware_version", version)

    @classmethod
    def from_ranges(
        cls,
        chip: ImuChip,
        acc_range_g: int,
        gyr_range_dps: int,
        sample_rate_hz: float,
        *,
        placement: PlacementCode = PlacementCode.UNSET,
        firmware_version: tuple[int, int, int] = (0, 0, 0),
    ) -> SensorInfo:
        """Build the info of an ideal IMU whose full scale maps onto the int16 range.

        Sensitivities are ``range / 32768`` per count, rounded to the integer wire units,
        and the period is ``1e6 / sample_rate_hz`` rounded to whole µs. For the simulator
        and tests; real firmware reports its chip's datasheet sensitivity.

        Parameters
        ----------
        chip : ImuChip
            The chip to report.
        acc_range_g : int
            Accelerometer full scale in ±g.
        gyr_range_dps : int
            Gyroscope full scale in ±°/s.
        sample_rate_hz : float
            Sample rate in Hz, > 0.
        placement : PlacementCode, optional
            Provisioned placement. Default: unset.
        firmware_version : tuple of int, optional
            ``(major, minor, patch)``. Default: ``(0, 0, 0)``.

        Returns
        -------
        SensorInfo
            The info value.
        """
        if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
            raise EncodeError(f"sample_rate_hz must be finite and > 0, got {sample_rate_hz!r}")
        return cls(
            chip=chip,
            acc_range_g=acc_range_g,
            gyr_range_dps=gyr_range_dps,
            acc_scale_ng_per_lsb=round(acc_range_g * 1e9 / 32768),
            gyr_scale_ndps_per_lsb=round(gyr_range_dps * 1e9 / 32768),
            period_us=max(1, round(1e6 / sample_rate_hz)),
            placement=placement,
            firmware_version=firmware_version,
        )

    @property
    def acc_scale_mps2_per_lsb(self) -> float:
        """Accelerometer scale in m/s² per count."""
        return self.acc_scale_ng_per_lsb * 1e-9 * STANDARD_GRAVITY_MPS2

    @property
    def gyr_scale_rps_per_lsb(self) -> float:
        """Gyroscope scale in rad/s per count."""
        return math.radians(self.gyr_scale_ndps_per_lsb * 1e-9)

    @property
    def sample_rate_hz(self) -> float:
        """Nominal sample rate in Hz, ``1e6 / period_us``."""
        return 1e6 / self.period_us


def encode_info(info: SensorInfo) -> bytes:
    """Encode the value of the info characteristic.

    Parameters
    ----------
    info : SensorInfo
        The info to encode (validated on construction).

    Returns
    -------
    bytes
        :data:`INFO_SIZE` (22) bytes.
    """
    major, minor, patch = info.firmware_version
    return _INFO.pack(
        info.protocol_version,
        info.chip,
        info.placement,
        info.acc_range_g,
        info.gyr_range_dps,
        major,
        minor,
        patch,
        0,
        info.period_us,
        info.acc_scale_ng_per_lsb,
        info.gyr_scale_ndps_per_lsb,
    )


def _bad(offset: int, detail: str) -> FrameDecodeError:
    return FrameDecodeError(DecodeErrorReason.BAD_VALUE, offset, detail, what="info")


def decode_info(data: bytes | bytearray | memoryview) -> SensorInfo:
    """Decode the value read from the info characteristic.

    Parameters
    ----------
    data : bytes-like
        The value, at least 22 bytes; bytes past 22 (fields of a later firmware) are
        ignored.

    Returns
    -------
    SensorInfo
        The decoded info.

    Raises
    ------
    FrameDecodeError
        ``TRUNCATED`` below 22 bytes, ``BAD_VERSION`` for a protocol version other than
        1, ``BAD_VALUE`` for an unknown chip or placement code or a zero range, period or
        scale, each with the offset of the offending field.
    """
    data = bytes(data)
    if not data:
        raise FrameDecodeError(DecodeErrorReason.TRUNCATED, 0, "empty value", what="info")
    if data[0] != PROTOCOL_VERSION:
        raise FrameDecodeError(
            DecodeErrorReason.BAD_VERSION,
            0,
            f"protocol version {data[0]} (expected {PROTOCOL_VERSION})",
            what="info",
        )
    if len(data) < INFO_SIZE:
        raise FrameDecodeError(
            DecodeErrorReason.TRUNCATED,
            len(data),
            f"{len(data)} bytes (expected {INFO_SIZE})",
            what="info",
        )
    (
        version,
        chip,
        placement,
        acc_g,
        gyr_dps,
        major,
        minor,
        patch,
        _reserved,
        period_us,
        acc_ng,
        gyr_ndps,
    ) = _INFO.unpack_from(data)
    if chip not in ImuChip._value2member_map_:
        raise _bad(1, f"unknown chip code {chip}")
    if placement not in PlacementCode._value2member_map_:
        raise _bad(2, f"unknown placement code {placement} (expected 0..4)")
    # Zero ranges, period or scales would turn every sample into 0 or inf without a trace.
    for offset, name, value in (
        (3, "acc_range_g", acc_g),
        (4, "gyr_range_dps", gyr_dps),
        (10, "period_us", period_us),
        (14, "acc_scale_ng_per_lsb", acc_ng),
        (18, "gyr_scale_ndps_per_lsb", gyr_ndps),
    ):
        if value == 0:
            raise _bad(offset, f"{name} is 0")
    return SensorInfo(
        chip=ImuChip(chip),
        acc_range_g=acc_g,
        gyr_range_dps=gyr_dps,
        acc_scale_ng_per_lsb=acc_ng,
        gyr_scale_ndps_per_lsb=gyr_ndps,
        period_us=period_us,
        placement=PlacementCode(placement),
        firmware_version=(major, minor, patch),
        protocol_version=version,
    )
