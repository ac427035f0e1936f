"""Frames on the data characteristic: IMU data frames and time-sync replies.

Every frame starts with one byte ``version << 4 | frame_type``. A data frame (type 1)::

    off size field
     0   u8  0x11 = version 1 << 4 | DATA
     1   u8  n_samples, 1..42
     2   u16 counter of sample 0 (sample i has counter (c0 + i) mod 2^16)
     4   u32 sensor time of sample 0 in µs (sample i: (t0 + i * period_us) mod 2^32)
     8   n × 12 bytes: int16 ax, ay, az, gx, gy, gz in counts (scale from the info value)

A time-sync frame (type 2), the answer to a TIME_SYNC_REQUEST control command::

     0   u8  0x12 = version 1 << 4 | TIME_SYNC
     1   u8  0 (reserved)
     2   u32 token copied from the request
     6   u32 sensor time in µs at which the request was received

Decoding is vectorised: frames of equal length are joined and viewed through one
structured dtype, so the cost per sample is a few numpy element operations.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_protocol._checks import check_uint
from firmware_protocol._errors import DecodeErrorReason, EncodeError, FrameDecodeError
from firmware_protocol._gatt import ATT_NOTIFY_OVERHEAD, MAX_ATT_VALUE, PROTOCOL_VERSION
from firmware_protocol._info import SensorInfo

#: Bytes before the samples in a data frame.
FRAME_HEADER_SIZE: int = 8
#: Bytes per sample (six int16).
SAMPLE_SIZE: int = 12
#: Most samples one data frame can carry: (512 - 8) // 12, the ATT value limit.
MAX_SAMPLES_PER_FRAME: int = (MAX_ATT_VALUE - FRAME_HEADER_SIZE) // SAMPLE_SIZE
#: Size of a time-sync frame in bytes.
TIME_SYNC_FRAME_SIZE: int = 10

_TIME_SYNC = struct.Struct("<BBII")
_U16, _U32 = 0xFFFF, 0xFFFF_FFFF
_INT16_MIN, _INT16_MAX = -32768, 32767


class FrameType(IntEnum):
    """Low nibble of a frame's first byte."""

    DATA = 1
    TIME_SYNC = 2


_DATA_HEADER_BYTE = PROTOCOL_VERSION << 4 | FrameType.DATA
_TIME_SYNC_HEADER_BYTE = PROTOCOL_VERSION << 4 | FrameType.TIME_SYNC

Bytes = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Decoded IMU samples of one sensor, in SI units, in arrival order.

    Attributes
    ----------
    acc_mps2 : ndarray of float64, shape (N, 3)
        Specific force in m/s² in the sensor frame (x, y, z).
    gyr_rps : ndarray of float64, shape (N, 3)
        Angular rate in rad/s in the sensor frame (x, y, z).
    counter : ndarray of uint16, shape (N,), or None
        Per-sample counter, wrapping at 2^16; a jump of more than one between
        neighbours counts exactly the samples lost in between. None for sensors without
        one (WitMotion).
    sensor_time_us : ndarray of uint32, shape (N,), or None
        Sensor clock at each sample in µs, wrapping at 2^32 (71.6 min); for mapping onto
        the host clock. None for sensors without one (WitMotion).
    frame_index : ndarray of int64, shape (N,), or None
        Index, in the sequence given to the decoder, of the frame (notification) each
        sample came from: joins samples to the host arrival time of their notification.
    """

    acc_mps2: NDArray[np.float64]
    gyr_rps: NDArray[np.float64]
    counter: NDArray[np.uint16] | None = None
    sensor_time_us: NDArray[np.uint32] | None = None
    frame_index: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = self.acc_mps2.shape[0] if self.acc_mps2.ndim == 2 else -1
        for name in ("acc_mps2", "gyr_rps"):
            arr = getattr(self, name)
            if arr.shape != (n, 3) or arr.dtype != np.float64:
                raise ValueError(
                    f"{name} must be float64 of shape (N, 3), got {arr.dtype} {arr.shape}"
                )
        for name, dtype in (
            ("counter", np.uint16),
            ("sensor_time_us", np.uint32),
            ("frame_index", np.int64),
        ):
            arr = getattr(self, name)
            if arr is not None and (arr.shape != (n,) or arr.dtype != dtype):
                raise ValueError(
                    f"{name} must be {np.dtype(dtype)} of shape ({n},), got {arr.dtype} {arr.shape}"
                )

    def __len__(self) -> int:
        return int(self.acc_mps2.shape[0])


@dataclass(frozen=True, slots=True)
class TimeSync:
    """A sensor's answer to a time-sync request.

    The host notes its own clock when it writes the request (t_send) and when this frame
    arrives (t_recv); ``sensor_time_us`` was taken between the two, so the sensor clock
    maps to about (t_send + t_recv) / 2 with an error below (t_recv - t_send) / 2.

    Attributes
    ----------
    token : int
        The host's token from the request, u32: pairs the answer with its request.
    sensor_time_us : int
        Sensor clock in µs when the request was received, u32 (same clock and wrap as
        the data frames' sample times).
    """

    token: int
    sensor_time_us: int

    def __post_init__(self) -> None:
        check_uint("token", self.token, _U32)
        check_uint("sensor_time_us", self.sensor_time_us, _U32)


def max_samples_per_frame(att_mtu: int) -> int:
    """Most samples a data frame can carry on a link with the given ATT MTU.

    A notification carries ``att_mtu - 3`` bytes (capped at the 512-byte ATT value
    limit); the header takes 8 and each sample 12.

    Parameters
    ----------
    att_mtu : int
        Negotiated ATT_MTU in bytes, >= 23.

    Returns
    -------
    int
        1 at MTU 23, 19 at MTU 247, 42 from MTU 515 on.

    Examples
    --------
    >>> max_samples_per_frame(23), max_samples_per_frame(247)
    (1, 19)
    """
    # 23 is the BLE minimum; any larger value is legal, the ATT value limit caps the frame.
    check_uint("att_mtu", att_mtu, 0xFFFF, minimum=23)
    payload = min(att_mtu - ATT_NOTIFY_OVERHEAD, MAX_ATT_VALUE)
    return (payload - FRAME_HEADER_SIZE) // SAMPLE_SIZE


def frame_type(frame: Bytes) -> FrameType:
    """Read the type of a notification from the data characteristic.

    Lets a consumer route time-sync frames to :func:`decode_time_sync` and gather data
    frames for :func:`decode_frames` without decoding either.

    Raises
    ------
    FrameDecodeError
        ``TRUNCATED`` for an empty frame, ``BAD_VERSION`` or ``UNKNOWN_FRAME_TYPE`` for
        a bad first byte (offset 0).
    """
    if len(frame) == 0:
        raise FrameDecodeError(DecodeErrorReason.TRUNCATED, 0, "empty frame", what="frame")
    head = frame[0]
    if head >> 4 != PROTOCOL_VERSION:
        raise FrameDecodeError(
            DecodeErrorReason.BAD_VERSION,
            0,
            f"protocol version {head >> 4} (expected {PROTOCOL_VERSION})",
            what="frame",
        )
    try:
        return FrameType(head & 0x0F)
    except ValueError:
        raise FrameDecodeError(
            DecodeErrorReason.UNKNOWN_FRAME_TYPE,
            0,
            f"unknown frame type {head & 0x0F}",
            what="frame",
        ) from None


@lru_cache(maxsize=MAX_SAMPLES_PER_FRAME + 1)
def _frame_dtype(n: int) -> np.dtype:
    return np.dtype(
        [("head", "u1"), ("n", "u1"), ("c0", "<u2"), ("t0", "<u4"), ("s", "<i2", (n, 6))]
    )


def _as_counts(name: str, values: ArrayLike) -> NDArray[np.int16]:
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise EncodeError(f"{name} must have shape (N, 3), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise EncodeError(f"{name} must be integer counts, got {arr.dtype} (see counts_from_si)")
    if arr.size and (arr.min() < _INT16_MIN or arr.max() > _INT16_MAX):
        raise EncodeError(f"{name} holds values outside int16 [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int16, copy=False)


def counts_from_si(
    acc_mps2: ArrayLike, gyr_rps: ArrayLike, info: SensorInfo
) -> tuple[NDArray[np.int16], NDArray[np.int16]]:
    """Quantise SI values into the int16 counts a real IMU with this info would output.

    Rounds to the nearest count (ties to even) and saturates at -32768 and 32767, the
    way an IMU clips a motion beyond its full scale.

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in m/s².
    gyr_rps : array_like, shape (N, 3)
        Angular rate in rad/s.
    info : SensorInfo
        Supplies the scale factors.

    Returns
    -------
    acc_counts, gyr_counts : ndarray of int16, shape (N, 3)
        Counts for :func:`encode_frames`.

    Raises
    ------
    EncodeError
        If a shape is not (N, 3) or a value is NaN (an IMU never outputs one).
    """
    out = []
    for name, values, scale in (
        ("acc_mps2", acc_mps2, info.acc_scale_mps2_per_lsb),
        ("gyr_rps", gyr_rps, info.gyr_scale_rps_per_lsb),
    ):
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise EncodeError(f"{name} must have shape (N, 3), got {arr.shape}")
        if np.isnan(arr).any():
            raise EncodeError(f"{name} contains NaN")
        counts = np.clip(np.rint(arr / scale), _INT16_MIN, _INT16_MAX)
        out.append(counts.astype(np.int16))
    if out[0].shape != out[1].shape:
        raise EncodeError(f"acc_mps2 {out[0].shape} and gyr_rps {out[1].shape} differ in length")
    return out[0], out[1]


def encode_frames(
    acc_counts: ArrayLike,
    gyr_counts: ArrayLike,
    info: SensorInfo,
    *,
    counter0: int = 0,
    t0_us: int = 0,
    att_mtu: int = 23,
    samples_per_frame: int | None = None,
) -> list[bytes]:
    """Pack consecutive samples into data frames, as firmware does.

    Parameters
    ----------
    acc_counts, gyr_counts : array_like of int, shape (N, 3)
        Raw counts within int16 (use :func:`counts_from_si` for SI values).
    info : SensorInfo
        Supplies ``period_us`` for the first-sample time of each frame.
    counter0 : int, optional
        Counter of the first sample, 0..65535. Default: 0.
    t0_us : int, optional
        Sensor time of the first sample in µs, 0..2³²-1. Default: 0.
    att_mtu : int, optional
        Negotiated ATT_MTU; frames are filled to :func:`max_samples_per_frame`.
        Default: 23.
    samples_per_frame : int, optional
        Fill frames to fewer samples than fit, as firmware does to bound latency (a full
        frame at MTU 247 and 100 Hz holds 190 ms). Default: as many as fit.

    Returns
    -------
    list of bytes
        ``ceil(N / samples_per_frame)`` frames; the last may be shorter. Empty for N = 0.

    Raises
    ------
    EncodeError
        On a bad shape, non-integer or out-of-int16 counts, or an out-of-range argument.
    """
    acc = _as_counts("acc_counts", acc_counts)
    gyr = _as_counts("gyr_counts", gyr_counts)
    if acc.shape != gyr.shape:
        raise EncodeError(f"acc_counts {acc.shape} and gyr_counts {gyr.shape} differ in length")
    check_uint("counter0", counter0, _U16)
    check_uint("t0_us", t0_us, _U32)
    k = max_samples_per_frame(att_mtu)
    if samples_per_frame is not None:
        if not 1 <= samples_per_frame <= k:
            raise EncodeError(f"samples_per_frame must be in 1..{k} at MTU {att_mtu}")
        k = samples_per_frame
    samples = np.concatenate([acc, gyr], axis=1)
    frames: list[bytes] = []
    start = 0
    # At most two passes: all full frames at once, then the shorter remainder.
    for n, count in ((k, len(samples) // k), (len(samples) % k, 1)):
        if n == 0 or count == 0:
            continue
        rec = np.zeros(count, dtype=_frame_dtype(n))
        first = start + n * np.arange(count, dtype=np.uint64)
        rec["head"] = _DATA_HEADER_BYTE
        rec["n"] = n
        rec["c0"] = (counter0 + first) & _U16
        rec["t0"] = (t0_us + first * info.period_us) & _U32
        rec["s"] = samples[start : start + n * count].reshape(count, n, 6)
        buf = rec.tobytes()
        size = rec.dtype.itemsize
        frames.extend(buf[i * size : (i + 1) * size] for i in range(count))
        start += n * count
    return frames


_TRUNCATED, _BAD_VERSION, _UNEXPECTED, _UNKNOWN, _BAD_COUNT, _TRAILING = range(1, 7)


def _group_errors(
    raw: NDArray[np.uint8], length: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Classify the frames of one length group; return (codes, n_samples, needed length)."""
    k = raw.shape[0]
    if length == 0:
        zeros = np.zeros(k, dtype=np.intp)
        return np.full(k, _TRUNCATED, dtype=np.intp), zeros, zeros
    head = raw[:, 0]
    ftype = head & 0x0F
    n = raw[:, 1].astype(np.intp) if length >= 2 else np.zeros(k, dtype=np.intp)
    need = FRAME_HEADER_SIZE + SAMPLE_SIZE * n
    # Checked in byte order so the first failing byte decides the reason and offset.
    conditions = [
        head >> 4 != PROTOCOL_VERSION,
        ftype == FrameType.TIME_SYNC,
        ftype != FrameType.DATA,
        np.full(k, length < 2),
        (n == 0) | (n > MAX_SAMPLES_PER_FRAME),
        length < need,
        length > need,
    ]
    choices = [_BAD_VERSION, _UNEXPECTED, _UNKNOWN, _TRUNCATED, _BAD_COUNT, _TRUNCATED, _TRAILING]
    return np.select(conditions, choices, default=0), n, need


def _frame_error(
    code: int, raw_row: NDArray[np.uint8], length: int, n: int, need: int
) -> FrameDecodeError:
    r = DecodeErrorReason
    if code == _BAD_VERSION:
        version = int(raw_row[0]) >> 4
        return FrameDecodeError(
            r.BAD_VERSION, 0, f"protocol version {version} (expected {PROTOCOL_VERSION})"
        )
    if code == _UNEXPECTED:
        return FrameDecodeError(
            r.UNEXPECTED_FRAME_TYPE, 0, "time-sync frame where data was expected"
        )
    if code == _UNKNOWN:
        return FrameDecodeError(
            r.UNKNOWN_FRAME_TYPE, 0, f"unknown frame type {int(raw_row[0]) & 15}"
        )
    if code == _BAD_COUNT:
        return FrameDecodeError(
            r.BAD_SAMPLE_COUNT, 1, f"sample count {n} (expected 1..{MAX_SAMPLES_PER_FRAME})"
        )
    if code == _TRAILING:
        return FrameDecodeError(r.TRAILING_BYTES, need, f"{length} bytes where n={n} needs {need}")
    if length < 2:
        minimum = FRAME_HEADER_SIZE + SAMPLE_SIZE
        return FrameDecodeError(
            r.TRUNCATED, length, f"{length} bytes where a frame needs {minimum}+"
        )
    return FrameDecodeError(r.TRUNCATED, length, f"{length} bytes where n={n} needs {need}")


@overload
def decode_frames(
    frames: Sequence[Bytes], info: SensorInfo, *, skip_bad: Literal[False] = False
) -> SampleBatch: ...
@overload
def decode_frames(
    frames: Sequence[Bytes], info: SensorInfo, *, skip_bad: Literal[True]
) -> tuple[SampleBatch, list[FrameDecodeError]]: ...
def decode_frames(
    frames: Sequence[Bytes], info: SensorInfo, *, skip_bad: bool = False
) -> SampleBatch | tuple[SampleBatch, list[FrameDecodeError]]:
    """Decode data frames of one sensor into SI samples, vectorised.

    Parameters
    ----------
    frames : sequence of bytes-like
        Data frames in arrival order (one notification each).
    info : SensorInfo
        The sensor's info value: scale factors and sample period.
    skip_bad : bool, optional
        If False (default), the first bad frame raises. If True, bad frames are left
        out and returned as errors, so that no sample of a good frame is lost.

    Returns
    -------
    SampleBatch
        All samples of the good frames, in frame order. With ``skip_bad=True``, a tuple
        ``(batch, errors)`` where ``errors`` lists a :class:`FrameDecodeError` per bad
        frame (with ``frame_index`` set), in frame order.

    Raises
    ------
    FrameDecodeError
        Unless `skip_bad`, for the first bad frame: truncated, wrong version, unknown
        or unexpected (time-sync) frame type, sample count 0 or above 42, or bytes past
        the samples. ``frame_index`` says which frame, ``offset`` which byte.
    TypeError
        If `frames` is a single bytes object rather than a sequence of frames.

    Notes
    -----
    Frames are grouped by length; each group is joined and read with one structured
    ``np.frombuffer`` view, so the Python work is per distinct length, not per sample.
    """
    if isinstance(frames, bytes | bytearray | memoryview):
        raise TypeError("frames must be a sequence of frames; wrap a single frame in a list")
    uniform = _uniform_length(frames) if len(frames) <= _FEW_FRAMES else 0
    if uniform:
        # The live case: a few good frames of one length (one BLE notification each).
        n = (uniform - FRAME_HEADER_SIZE) // SAMPLE_SIZE
        buf = b"".join(frames)
        recs = np.frombuffer(buf, dtype=_frame_dtype(n))
        batch = _assemble([(np.arange(len(frames), dtype=np.intp), n, recs)], info)
        return (batch, []) if skip_bad else batch
    lengths = np.fromiter((len(f) for f in frames), dtype=np.intp, count=len(frames))
    parts: list[tuple[NDArray[np.intp], int, NDArray]] = []
    errors: list[FrameDecodeError] = []
    for length in np.unique(lengths).tolist():
        idx = np.flatnonzero(lengths == length)
        buf = b"".join([frames[i] for i in idx])
        raw = np.frombuffer(buf, dtype=np.uint8).reshape(len(idx), length)
        codes, n, need = _group_errors(raw, length)
        for row in np.flatnonzero(codes).tolist():
            err = _frame_error(int(codes[row]), raw[row], length, int(n[row]), int(need[row]))
            errors.append(err.at_index(int(idx[row])))
        good = codes == 0
        if good.any():
            recs = np.frombuffer(
                buf, dtype=_frame_dtype((length - FRAME_HEADER_SIZE) // SAMPLE_SIZE)
            )
            parts.append((idx[good], (length - FRAME_HEADER_SIZE) // SAMPLE_SIZE, recs[good]))
    errors.sort(key=lambda e: e.frame_index or 0)
    if errors and not skip_bad:
        raise errors[0]
    batch = _assemble(parts, info)
    return (batch, errors) if skip_bad else batch


_HEAD = struct.Struct("<BBHI")


def read_data_frame(frame: Bytes) -> tuple[int, int, NDArray[np.int16]] | None:
    """One data frame's raw content, or None if it is not a good data frame.

    The live path's shortcut for a notification of one frame (:func:`decode_frames`
    is the reference and gives the same numbers): returns ``(counter0, t0_us,
    counts)``, the first sample's wire counter (u16) and sensor time (u32 µs), and the
    samples' raw counts, shape (n, 6) int16 (ax ay az gx gy gz).
    """
    length = len(frame)
    if length < FRAME_HEADER_SIZE + SAMPLE_SIZE:
        return None
    head, n, counter0, t0_us = _HEAD.unpack_from(frame)
    if head != _DATA_HEADER_BYTE or not 0 < n <= MAX_SAMPLES_PER_FRAME:
        return None
    if length != FRAME_HEADER_SIZE + SAMPLE_SIZE * n:
        return None
    counts = np.frombuffer(frame, dtype="<i2", count=6 * n, offset=FRAME_HEADER_SIZE)
    return counter0, t0_us, counts.reshape(n, 6)


#: Up to this many frames, :func:`decode_frames` first tries the plain-loop check.
_FEW_FRAMES = 32


def _uniform_length(frames: Sequence[Bytes]) -> int:
    """The common length if every frame is a good data frame of that one length, else 0.

    A plain loop: for the handful of frames of one notification batch it is several
    times cheaper than classifying them with array operations (the general path).
    """
    if not frames:
        return 0
    first = frames[0]
    length = len(first)
    if length < FRAME_HEADER_SIZE + SAMPLE_SIZE:
        return 0
    for f in frames:
        if len(f) != length or f[0] != _DATA_HEADER_BYTE:
            return 0
        n = f[1]
        if n == 0 or n > MAX_SAMPLES_PER_FRAME or length != FRAME_HEADER_SIZE + SAMPLE_SIZE * n:
            return 0
    return length


def _assemble(parts: list[tuple[NDArray[np.intp], int, NDArray]], info: SensorInfo) -> SampleBatch:
    counts, counters, times, frame_idx = [], [], [], []
    for idx, n, recs in parts:
        i = np.arange(n, dtype=np.uint64)
        counts.append(recs["s"].reshape(-1, 6))
        counters.append(
            ((recs["c0"][:, None].astype(np.uint64) + i) & _U16).astype(np.uint16).ravel()
        )
        t = (recs["t0"][:, None].astype(np.uint64) + i * np.uint64(info.period_us)) & _U32
        times.append(t.astype(np.uint32).ravel())
        frame_idx.append(np.repeat(idx.astype(np.int64), n))
    if not parts:
        s = np.zeros((0, 6), dtype=np.int16)
        c, t, f = (np.zeros(0, dtype=d) for d in (np.uint16, np.uint32, np.int64))
    elif len(parts) == 1:
        s, c, t, f = counts[0], counters[0], times[0], frame_idx[0]
    else:
        s, c, t, f = (np.concatenate(a) for a in (counts, counters, times, frame_idx))
        if len(parts) > 1:
            # Length groups come out grouped; restore frame order (stable keeps sample order).
            order = np.argsort(f, kind="stable")
            s, c, t, f = s[order], c[order], t[order], f[order]
    return SampleBatch(
        acc_mps2=s[:, :3] * info.acc_scale_mps2_per_lsb,
        gyr_rps=s[:, 3:] * info.gyr_scale_rps_per_lsb,
        counter=c,
        sensor_time_us=t,
        frame_index=f,
    )


def encode_time_sync(sync: TimeSync) -> bytes:
    """Encode a time-sync frame (what the sensor notifies after a time-sync request).

    Returns
    -------
    bytes
        :data:`TIME_SYNC_FRAME_SIZE` (10) bytes.
    """
    return _TIME_SYNC.pack(_TIME_SYNC_HEADER_BYTE, 0, sync.token, sync.sensor_time_us)


def decode_time_sync(frame: Bytes) -> TimeSync:
    """Decode a time-sync frame from the data characteristic.

    Raises
    ------
    FrameDecodeError
        ``BAD_VERSION``/``UNKNOWN_FRAME_TYPE``/``UNEXPECTED_FRAME_TYPE`` at byte 0,
        ``BAD_VALUE`` for a non-zero reserved byte 1, ``TRUNCATED`` below 10 bytes,
        ``TRAILING_BYTES`` above.
    """
    what = "time-sync frame"
    try:
        kind = frame_type(frame)
    except FrameDecodeError as exc:
        raise FrameDecodeError(exc.reason, exc.offset, exc.detail, what=what) from None
    r = DecodeErrorReason
    if kind is not FrameType.TIME_SYNC:
        raise FrameDecodeError(r.UNEXPECTED_FRAME_TYPE, 0, f"{kind.name} frame", what=what)
    if len(frame) >= 2 and frame[1] != 0:
        raise FrameDecodeError(r.BAD_VALUE, 1, f"reserved byte is {frame[1]}", what=what)
    if len(frame) != TIME_SYNC_FRAME_SIZE:
        reason = r.TRUNCATED if len(frame) < TIME_SYNC_FRAME_SIZE else r.TRAILING_BYTES
        offset = min(len(frame), TIME_SYNC_FRAME_SIZE)
        raise FrameDecodeError(
            reason, offset, f"{len(frame)} bytes (expected {TIME_SYNC_FRAME_SIZE})", what=what
        )
    _, _, token, t_us = _TIME_SYNC.unpack(frame)
    return TimeSync(token=token, sensor_time_us=t_us)
