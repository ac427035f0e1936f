"""Read and write the recording CSV, squatsense's raw-data file format.

A recording is a long-format CSV, one row per sample of one sensor::

    time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z
    0.000000,sacrum,0.1234567,9.806650,0.01,0.5,-0.25,0
    0.002500,shin_left,9.79,0.2,-0.1,1.5,0,0.125

================  =====================================================================
column            meaning
================  =====================================================================
``time_s``        sampling instant in s on the session's common clock
``sensor``        placement: ``sacrum``, ``lumbar``, ``shin_left`` or ``shin_right``
``acc_x..acc_z``  specific force in m/s² in the sensor frame (+9.81 on the up axis at rest)
``gyr_x..gyr_z``  angular rate in **deg/s** in the sensor frame
================  =====================================================================

Reading rules (the public contract; later parts of squatsense rely on them):

- The header names the columns. They may come in any order, and extra columns
  anywhere are allowed and ignored (forward compatibility). The eight standard
  names must each appear exactly once. Leading blank lines and blank lines between
  rows are ignored; a UTF-8 byte-order mark is accepted.
- Sensors may have different rates and sampling instants, their rows may interleave
  in any order, and rows may be missing (lost packets).
- Rows of one sensor need not be in time order: they are sorted (stably). Of several
  rows of one sensor with the same ``time_s`` the **first in the file is kept** and
  the others are dropped (a retransmitted BLE packet is the usual cause); the number
  dropped per sensor is logged at INFO on this module's logger. So every
  :class:`~processing.ImuSamples` returned has strictly increasing ``time_s``.
- Every other irregularity is an error, raised once for the first offending line:
  a row with more fields than the header or too few to hold every standard column
  (trailing extra columns may be left out), an empty standard field, an unknown
  sensor name (names are case- and space-sensitive), a value that is not a decimal
  number (``NA``, ``null``, ``0x1F``), or a non-finite value (``nan``, ``inf``,
  ``1e999``), including in ``time_s``.
- Gyroscope values are converted from deg/s to rad/s here; everything past this
  module is SI.

The writer emits the standard header, rows merged by time (ties broken by the order
of :data:`~processing.PLACEMENTS`), ``time_s`` as ``%.6f`` (1 µs) and the other
values as ``%.7g`` (7 significant digits), so read → write → read reproduces the
file's numbers exactly.

Errors
------
All reading errors derive from one root, itself a :class:`ValueError`::

    ValueError
     └── RecordingError          path, line, column, reason, detail
          ├── RecordingFormatError    missing_columns
          │     reasons: EMPTY, NOT_CSV, MISSING_COLUMNS, DUPLICATE_COLUMNS, FIELD_COUNT
          ├── RecordingValueError     text
          │     reasons: MISSING_VALUE, UNKNOWN_SENSOR, NOT_A_NUMBER, NOT_FINITE
          └── MissingSensorError      missing, present
                reason: MISSING_SENSOR

``str(error)`` is one line naming the source, the 1-based line (the header is
line 1 when the file starts with it), the column and what was expected versus
what arrived, e.g. ``rec.csv line 17, column acc_y: expected a number, got 'abc'``.
Bad arguments from the calling code (not the file) raise plain :class:`ValueError`
or :class:`TypeError`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from processing import PLACEMENTS, RECORDING_COLUMNS, REQUIRED_PLACEMENTS, ImuSamples, Placement

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MissingSensorError",
    "PathOrBuffer",
    "RecordingError",
    "RecordingErrorReason",
    "RecordingFormatError",
    "RecordingValueError",
    "iter_recording",
    "read_recording",
    "write_recording",
]

_log = logging.getLogger(__name__)

#: Anything the reader and writer accept as a source or destination: a file path, or
#: an open text or binary file object (binary content must be UTF-8).
PathOrBuffer: TypeAlias = str | os.PathLike[str] | IO[str] | IO[bytes]

#: Default number of rows per block of :func:`iter_recording`.
DEFAULT_CHUNK_ROWS: int = 50_000

_NUMERIC_COLUMNS: tuple[str, ...] = RECORDING_COLUMNS[:1] + RECORDING_COLUMNS[2:]
_PLACEMENT_BY_NAME: dict[str, int] = {p.value: i for i, p in enumerate(PLACEMENTS)}
# A header longer than this without a newline is not a recording header; the limit
# stops us from reading a whole binary file looking for one.
_MAX_HEADER_CHARS = 65_536
_TEXT_SHOWN_CHARS = 40
# The grammar the pandas C parser accepts for a finite float64 (checked against it in
# the tests); only used on the error path to find the offending field.
_NUMBER_RE = re.compile(r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*")
_NON_FINITE_RE = re.compile(r"[ \t]*[+-]?(?:nan|inf|infinity)[ \t]*", re.IGNORECASE)
_WRITE_FORMAT = "%.6f,%s,%.7g,%.7g,%.7g,%.7g,%.7g,%.7g"
_WRITE_BLOCK_ROWS = 100_000


# --------------------------------------------------------------------------- errors


class RecordingErrorReason(StrEnum):
    """Why a recording could not be read. Values are stable, for logs and APIs."""

    #: No header: the source is empty or holds only blank lines.
    EMPTY = "empty"
    #: Not UTF-8 text (undecodable bytes, a NUL byte, an endless first line) or not
    #: parseable as CSV.
    NOT_CSV = "not_csv"
    #: The header lacks standard columns (see ``missing_columns``).
    MISSING_COLUMNS = "missing_columns"
    #: The header names a standard column more than once.
    DUPLICATE_COLUMNS = "duplicate_columns"
    #: A row has more fields than the header, or too few to reach a standard column.
    FIELD_COUNT = "field_count"
    #: A standard field is empty.
    MISSING_VALUE = "missing_value"
    #: The ``sensor`` field is not a :class:`~processing.Placement` value.
    UNKNOWN_SENSOR = "unknown_sensor"
    #: A numeric field is not a decimal number.
    NOT_A_NUMBER = "not_a_number"
    #: A numeric field is NaN or infinite (or overflows float64).
    NOT_FINITE = "not_finite"
    #: A required sensor has no rows at all.
    MISSING_SENSOR = "missing_sensor"


class RecordingError(ValueError):
    """Root of the recording errors: the source is not a valid recording CSV.

    Attributes
    ----------
    reason : RecordingErrorReason
        What kind of problem it is.
    detail : str
        What was expected and what arrived, without the location.
    path : str or None
        The file path as given, the ``name`` of a file object, or None for an
        anonymous buffer.
    line : int or None
        1-based line number in the source (the header is line 1 when the source
        starts with it); None when the problem is not tied to a line.
    column : str or None
        The standard column name concerned, or None.
    """

    def __init__(
        self,
        reason: RecordingErrorReason,
        detail: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.path if self.path is not None else "<buffer>"
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            where += (
                f", column {self.column}" if self.line is not None else f" column {self.column}"
            )
        return f"{where}: {self.detail}"


class RecordingFormatError(RecordingError):
    """The source is not a recording CSV: empty, binary, bad header or malformed row.

    Attributes
    ----------
    missing_columns : tuple of str
        Standard columns absent from the header (empty unless the reason is
        ``MISSING_COLUMNS``), in the standard order.
    """

    def __init__(
        self,
        reason: RecordingErrorReason,
        detail: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        missing_columns: tuple[str, ...] = (),
    ) -> None:
        self.missing_columns = missing_columns
        super().__init__(reason, detail, path=path, line=line, column=column)


class RecordingValueError(RecordingError):
    """One field of one row holds a bad value; ``line`` and ``column`` say where.

    Attributes
    ----------
    text : str
        The offending field exactly as in the file (``''`` for an empty field).
    """

    def __init__(
        self,
        reason: RecordingErrorReason,
        detail: str,
        *,
        text: str,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.text = text
        super().__init__(reason, detail, path=path, line=line, column=column)


class MissingSensorError(RecordingError):
    """The recording parsed, but a required sensor has no rows.

    Attributes
    ----------
    missing : tuple of Placement
        Required placements without any row, in :data:`~processing.PLACEMENTS` order.
    present : tuple of Placement
        Placements that do have rows, in the same order.
    """

    def __init__(
        self,
        missing: tuple[Placement, ...],
        present: tuple[Placement, ...],
        *,
        path: str | None = None,
    ) -> None:
        self.missing = missing
        self.present = present
        detail = (
            f"expected rows for required sensor(s) {_names(missing)}, "
            f"got rows only for {_names(present) if present else 'no sensor'}"
        )
        super().__init__(RecordingErrorReason.MISSING_SENSOR, detail, path=path)


def _names(items: Iterable[str]) -> str:
    return ", ".join(str(item) for item in items)


def _shown(text: str) -> str:
    # repr() keeps the message on one line even for text with newlines or NULs.
    if len(text) > _TEXT_SHOWN_CHARS:
        return repr(text[:_TEXT_SHOWN_CHARS]) + "..."
    return repr(text)


# --------------------------------------------------------------------------- sources


@dataclass(slots=True)
class _Source:
    """A re-openable view of the caller's path or buffer.

    Reading a source twice is needed only on the error path, to find the first bad
    line after the fast parse failed.
    """

    label: str | None  # for messages and RecordingError.path
    path: str | None  # set when we open the file ourselves
    buffer: IO[Any] | None  # otherwise, a seekable buffer ...
    start: int  # ... and where its content starts

    @contextmanager
    def open(self) -> Iterator[IO[Any]]:
        if self.buffer is not None:
            self.buffer.seek(self.start)
            yield self.buffer
        else:
            with open(str(self.path), "rb") as fh:
                yield fh


def _make_source(path_or_buffer: PathOrBuffer) -> _Source:
    if isinstance(path_or_buffer, str | os.PathLike):
        path = os.fspath(path_or_buffer)
        if not isinstance(path, str):
            raise TypeError(f"expected a str path, got bytes path {path!r}")
        return _Source(label=path, path=path, buffer=None, start=0)
    if not hasattr(path_or_buffer, "read"):
        raise TypeError(
            f"expected a path or a readable file object, got {type(path_or_buffer).__name__}"
        )
    buffer: IO[Any] = path_or_buffer
    name = getattr(buffer, "name", None)
    label = os.fspath(name) if isinstance(name, str | os.PathLike) else None
    if isinstance(label, bytes):
        label = None
    if buffer.seekable():
        return _Source(label=label, path=None, buffer=buffer, start=buffer.tell())
    # A pipe or socket: keep a copy so that the error path can read it again.
    content = buffer.read()
    copy: IO[Any] = io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content)
    return _Source(label=label, path=None, buffer=copy, start=0)


def _decode_line(source: _Source, raw: str | bytes, line_no: int) -> str:
    """Decode one raw line, raising NOT_CSV for binary content."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 8]
            raise RecordingFormatError(
                RecordingErrorReason.NOT_CSV,
                f"expected UTF-8 text, got undecodable bytes {bad!r}",
                path=source.label,
                line=line_no,
            ) from exc
    else:
        text = raw
    if line_no == 1:
        text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise RecordingFormatError(
            RecordingErrorReason.NOT_CSV,
            "expected text, got a NUL byte (binary data?)",
            path=source.label,
            line=line_no,
        )
    return text


@dataclass(frozen=True, slots=True)
class _Header:
    line: int  # 1-based line of the header
    n_fields: int
    # Position in the row of each standard column, in RECORDING_COLUMNS order.
    positions: tuple[int, ...]


def _read_header(source: _Source, handle: IO[Any]) -> _Header:
    """Consume lines up to and including the header, leaving ``handle`` after it."""
    line_no = 0
    while True:
        raw = handle.readline(_MAX_HEADER_CHARS)
        line_no += 1
        if not raw:
            raise RecordingFormatError(
                RecordingErrorReason.EMPTY,
                "expected a header line " + ",".join(RECORDING_COLUMNS) + ", got an empty file",
                path=source.label,
            )
        text = _decode_line(source, raw, line_no)
        if len(raw) >= _MAX_HEADER_CHARS and not text.endswith("\n"):
            raise RecordingFormatError(
                RecordingErrorReason.NOT_CSV,
                f"expected a header line, got more than {_MAX_HEADER_CHARS} characters "
                "without a line break",
                path=source.label,
                line=line_no,
            )
        if text.strip():
            break
    fields = [name.strip() for name in next(csv.reader([text]))]
    missing = tuple(name for name in RECORDING_COLUMNS if name not in fields)
    if missing:
        expected = ",".join(RECORDING_COLUMNS)
        if len(missing) == len(RECORDING_COLUMNS):
            detail = f"expected the header {expected}, got {_shown(text.rstrip())}"
        else:
            detail = (
                f"expected the columns {expected} (any order), "
                f"got a header without {_names(missing)}"
            )
        raise RecordingFormatError(
            RecordingErrorReason.MISSING_COLUMNS,
            detail,
            path=source.label,
            line=line_no,
            missing_columns=missing,
        )
    for name in RECORDING_COLUMNS:
        if fields.count(name) > 1:
            raise RecordingFormatError(
                RecordingErrorReason.DUPLICATE_COLUMNS,
                f"expected column {name} once in the header, got it {fields.count(name)} times",
                path=source.label,
                line=line_no,
                column=name,
            )
    return _Header(
        line=line_no,
        n_fields=len(fields),
        positions=tuple(fields.index(name) for name in RECORDING_COLUMNS),
    )


# --------------------------------------------------------------------------- parsing


def _read_csv(handle: IO[Any], header: _Header, chunk_rows: int | None) -> Any:
    """Start the vectorised parse of the rows after the header."""
    dtype: dict[int, Any] = dict.fromkeys(range(header.n_fields), "category")
    for name, pos in zip(RECORDING_COLUMNS, header.positions, strict=True):
        dtype[pos] = "category" if name == "sensor" else np.float64
    return pd.read_csv(
        handle,
        engine="c",
        header=None,
        # Integer names: the header (already consumed) may repeat extra column names.
        names=list(range(header.n_fields)),
        # No usecols: with it pandas silently drops surplus fields of a row.
        dtype=dtype,
        index_col=False,
        # Only the empty field is missing; "NA", "null", "nan" are errors.
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=True,
        # Only for bytes: pandas refuses an encoding that differs from a text handle's.
        encoding="utf-8" if isinstance(handle.read(0), bytes) else None,
        chunksize=chunk_rows,
    )


def _convert(
    frame: pd.DataFrame, header: _Header
) -> tuple[NDArray[np.float64], NDArray[np.intp]] | None:
    """Check a parsed block; return its values and placement indices, or None if bad.

    Returns
    -------
    values : ndarray, shape (N, 7)
        ``time_s``, acc in m/s², gyr in deg/s (file units), float64.
    placement : ndarray, shape (N,)
        Index into :data:`~processing.PLACEMENTS` of each row.
    """
    pos = dict(zip(RECORDING_COLUMNS, header.positions, strict=True))
    values = np.column_stack([frame[pos[name]].to_numpy(np.float64) for name in _NUMERIC_COLUMNS])
    if not np.isfinite(values).all():
        return None
    sensor = frame[pos["sensor"]]
    # Categories are the distinct names seen (a handful), codes index them; -1 is empty.
    lookup = np.array([_PLACEMENT_BY_NAME.get(str(c), -1) for c in sensor.cat.categories], np.intp)
    codes = sensor.cat.codes.to_numpy()
    if (codes < 0).any():
        return None
    placement = lookup[codes]
    if (placement < 0).any():
        return None
    return values, placement


def _diagnose(source: _Source, header: _Header, cause: Exception | None) -> RecordingError:
    """Find the first bad row by a slow, line-accurate scan; only on the error path."""
    needed = max(header.positions) + 1
    with source.open() as handle:
        lines = (_decode_line(source, raw, n) for n, raw in enumerate(handle, start=1))
        for _ in range(header.line):
            next(lines)
        reader = csv.reader(lines)
        for row in reader:
            line = header.line + reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line, which pandas skips too
            if len(row) > header.n_fields or len(row) < needed:
                return RecordingFormatError(
                    RecordingErrorReason.FIELD_COUNT,
                    f"expected {header.n_fields} fields as in the header, got {len(row)}",
                    path=source.label,
                    line=line,
                )
            by_position = sorted(zip(header.positions, RECORDING_COLUMNS, strict=True))
            for pos, name in by_position:
                problem = _field_problem(name, row[pos])
                if problem is not None:
                    reason, detail = problem
                    return RecordingValueError(
                        reason, detail, text=row[pos], path=source.label, line=line, column=name
                    )
    # The fast parser rejected something this scan accepts; report what pandas said.
    return RecordingFormatError(
        RecordingErrorReason.NOT_CSV,
        f"expected a recording CSV, got a parse error ({cause or 'unlocated'})",
        path=source.label,
    )


def _field_problem(column: str, text: str) -> tuple[RecordingErrorReason, str] | None:
    if text == "":
        expected = "a sensor name" if column == "sensor" else "a number"
        return RecordingErrorReason.MISSING_VALUE, f"expected {expected}, got an empty field"
    if column == "sensor":
        if text in _PLACEMENT_BY_NAME:
            return None
        return (
            RecordingErrorReason.UNKNOWN_SENSOR,
            f"expected a sensor name ({_names(PLACEMENTS)}), got {_shown(text)}",
        )
    if _NUMBER_RE.fullmatch(text):
        if math.isfinite(float(text)):
            return None
        return RecordingErrorReason.NOT_FINITE, f"expected a finite number, got {_shown(text)}"
    if _NON_FINITE_RE.fullmatch(text):
        return RecordingErrorReason.NOT_FINITE, f"expected a finite number, got {_shown(text)}"
    return RecordingErrorReason.NOT_A_NUMBER, f"expected a number, got {_shown(text)}"


def _samples(values: NDArray[np.float64]) -> ImuSamples:
    """Build samples from rows sorted by strictly increasing time (file units)."""
    return ImuSamples(
        time_s=np.ascontiguousarray(values[:, 0]),
        acc_mps2=np.ascontiguousarray(values[:, 1:4]),
        gyr_rps=np.ascontiguousarray(np.deg2rad(values[:, 4:7])),
    )


def _sorted_unique(values: NDArray[np.float64], after_s: float = -np.inf) -> NDArray[np.float64]:
    """Sort rows stably by time; keep the first row of each time, and only times > after_s.

    ``values`` has shape (N, 7) with ``time_s`` in column 0; the result has shape
    (M, 7), M <= N, with strictly increasing time.
    """
    time_s = values[:, 0]
    if np.any(time_s[1:] < time_s[:-1]):
        values = values[np.argsort(time_s, kind="stable")]
        time_s = values[:, 0]
    keep = time_s > after_s
    # Sorted and stable: a row equal to its predecessor repeats an earlier row.
    keep[1:] &= time_s[1:] > time_s[:-1]
    return values if keep.all() else values[keep]


def _check_required(
    required: tuple[Placement, ...], present: Iterable[Placement], source: _Source
) -> None:
    present_set = set(present)
    missing = tuple(p for p in PLACEMENTS if p in required and p not in present_set)
    if missing:
        raise MissingSensorError(
            missing, tuple(p for p in PLACEMENTS if p in present_set), path=source.label
        )


def _check_required_arg(required: Iterable[Placement | str]) -> tuple[Placement, ...]:
    if isinstance(required, str):
        raise TypeError(
            f"expected an iterable of placements for required, got the str {required!r}"
        )
    out = []
    for item in required:
        try:
            out.append(Placement(item))
        except ValueError:
            raise ValueError(
                f"expected required placements among {_names(PLACEMENTS)}, got {item!r}"
            ) from None
    return tuple(out)


# --------------------------------------------------------------------------- public API


def read_recording(
    path_or_buffer: PathOrBuffer,
    *,
    required: Iterable[Placement | str] = REQUIRED_PLACEMENTS,
) -> dict[Placement, ImuSamples]:
    """Read a whole recording CSV into per-sensor samples in SI units.

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or file object
        A path, or an open text or binary (UTF-8) file object positioned at the
        header; a seekable one is read from its current position.
    required : iterable of Placement or str, optional
        Placements that must have at least one row. Default
        :data:`~processing.REQUIRED_PLACEMENTS` (sacrum and both shins); pass ``()``
        to accept any subset.

    Returns
    -------
    dict of Placement to ImuSamples
        One entry per sensor with at least one row, in
        :data:`~processing.PLACEMENTS` order. ``time_s`` shape (N,) in s, strictly
        increasing; ``acc_mps2`` shape (N, 3) in m/s²; ``gyr_rps`` shape (N, 3) in
        rad/s (converted from the file's deg/s). All float64, C-contiguous.

    Raises
    ------
    RecordingFormatError
        Empty or binary source, bad header, or a row with the wrong number of fields.
    RecordingValueError
        The first field (in file order) with a missing, non-numeric or non-finite
        value or an unknown sensor name.
    MissingSensorError
        A placement in ``required`` has no rows.

    Notes
    -----
    The rows are parsed by the pandas C engine with fixed dtypes (about half a
    second for an hour of four 100 Hz sensors, 1.44 M rows). Only when that parse
    fails is the source scanned again line by line to name the first bad field.
    Duplicate and unordered times are handled as described in the module docstring.
    """
    required_placements = _check_required_arg(required)
    source = _make_source(path_or_buffer)
    with source.open() as handle:
        header = _read_header(source, handle)
        try:
            frame = _read_csv(handle, header, chunk_rows=None)
        except ValueError as exc:  # pandas ParserError and UnicodeDecodeError are ValueErrors
            raise _diagnose(source, header, exc) from exc
    converted = _convert(frame, header)
    if converted is None:
        raise _diagnose(source, header, None)
    values, placement = converted
    result: dict[Placement, ImuSamples] = {}
    for index, p in enumerate(PLACEMENTS):
        rows = values[placement == index]
        if not len(rows):
            continue
        unique = _sorted_unique(rows)
        if len(unique) < len(rows):
            _log.info(
                "%s: dropped %d %s row(s) repeating an earlier time_s (kept the first)",
                source.label or "<buffer>",
                len(rows) - len(unique),
                p,
            )
        result[p] = _samples(unique)
    _check_required(required_placements, result, source)
    return result


def iter_recording(
    path_or_buffer: PathOrBuffer,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    required: Iterable[Placement | str] = REQUIRED_PLACEMENTS,
) -> Iterator[tuple[Placement, ImuSamples]]:
    """Read a recording CSV block by block, for replay and progress reporting.

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or file object
        As for :func:`read_recording`.
    chunk_rows : int, optional
        Rows of the file per block, at least 1. Default :data:`DEFAULT_CHUNK_ROWS`.
    required : iterable of Placement or str, optional
        As for :func:`read_recording`; checked when the file is exhausted.

    Yields
    ------
    placement : Placement
        The sensor of this chunk.
    samples : ImuSamples
        Its rows from the current block, converted as by :func:`read_recording`
        (time strictly increasing, gyro in rad/s). Blocks follow the file; within a
        block, one chunk per sensor present, in :data:`~processing.PLACEMENTS` order.

    Raises
    ------
    RecordingFormatError, RecordingValueError, MissingSensorError
        As :func:`read_recording`, with the same messages. Arguments are checked
        when this function is called; the file is opened and checked lazily, so an
        error surfaces at the block containing it, after earlier blocks were yielded,
        and a missing required sensor only after the last block.

    Notes
    -----
    Time order is enforced per sensor across blocks the way a live stream must: a
    row whose time is not after the last sample already yielded for its sensor is
    dropped (and counted in the INFO log), as a late or repeated packet would be.
    Hence concatenating the chunks of each sensor equals :func:`read_recording`
    whenever each sensor's rows are in non-decreasing time order in the file, as
    :func:`write_recording` writes them; an unsorted file loses its late rows here
    but not in :func:`read_recording`.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer):
        raise TypeError(f"expected an int for chunk_rows, got {type(chunk_rows).__name__}")
    if chunk_rows < 1:
        raise ValueError(f"expected chunk_rows >= 1, got {chunk_rows}")
    required_placements = _check_required_arg(required)
    source = _make_source(path_or_buffer)
    return _iter_blocks(source, int(chunk_rows), required_placements)


def _iter_blocks(
    source: _Source, chunk_rows: int, required: tuple[Placement, ...]
) -> Iterator[tuple[Placement, ImuSamples]]:
    last_time_s = [-np.inf] * len(PLACEMENTS)
    dropped = [0] * len(PLACEMENTS)
    with source.open() as handle:
        header = _read_header(source, handle)
        try:
            blocks = _read_csv(handle, header, chunk_rows=chunk_rows)
        except ValueError as exc:  # pandas may parse ahead while setting up
            raise _diagnose(source, header, exc) from exc
        with blocks:
            while True:
                try:
                    frame = next(blocks)
                except StopIteration:
                    break
                except ValueError as exc:
                    raise _diagnose(source, header, exc) from exc
                converted = _convert(frame, header)
                if converted is None:
                    raise _diagnose(source, header, None)
                values, placement = converted
                for index, p in enumerate(PLACEMENTS):
                    rows = values[placement == index]
                    if not len(rows):
                        continue
                    unique = _sorted_unique(rows, after_s=last_time_s[index])
                    dropped[index] += len(rows) - len(unique)
                    if len(unique):
                        last_time_s[index] = float(unique[-1, 0])
                        yield p, _samples(unique)
    for index, p in enumerate(PLACEMENTS):
        if dropped[index]:
            _log.info(
                "%s: dropped %d %s row(s) not after an earlier time_s (kept the first)",
                source.label or "<buffer>",
                dropped[index],
                p,
            )
    _check_required(
        required, (p for i, p in enumerate(PLACEMENTS) if np.isfinite(last_time_s[i])), source
    )


def write_recording(
    path_or_buffer: PathOrBuffer,
    data: Mapping[Placement | str, ImuSamples],
) -> None:
    """Write per-sensor samples as a recording CSV.

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or file object
        A path (created or truncated; UTF-8, LF line ends), or an open text or
        binary file object, written at its current position (a binary one in UTF-8).
    data : mapping of Placement or str to ImuSamples
        Samples per sensor, keys being placements or their names. ``time_s`` in s,
        shape (N,), strictly increasing with steps of at least 1 µs; ``acc_mps2`` in
        m/s², shape (N, 3); ``gyr_rps`` in rad/s, shape (N, 3), written in deg/s. All
        values finite. Sensors with no samples write no rows.

    Raises
    ------
    TypeError
        ``data`` is not a mapping of placements to :class:`~processing.ImuSamples`.
    ValueError
        Unknown sensor name, non-finite value, or times not strictly increasing at
        1 µs resolution (they would not survive a round trip).

    Notes
    -----
    Rows are merged by time, ties broken by :data:`~processing.PLACEMENTS` order.
    ``time_s`` is written as ``%.6f`` and every other value as ``%.7g``; the file
    read back gives those decimal values exactly, so a second write reproduces the
    first byte for byte.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a mapping of placement to ImuSamples, got {type(data).__name__}")
    per_sensor: dict[Placement, ImuSamples] = {}
    for key, samples in data.items():
        try:
            placement = Placement(key)
        except ValueError:
            raise ValueError(
                f"expected sensor names among {_names(PLACEMENTS)}, got {key!r}"
            ) from None
        if not isinstance(samples, ImuSamples):
            raise TypeError(
                f"expected ImuSamples for sensor {placement}, got {type(samples).__name__}"
            )
        _check_writable(placement, samples)
        per_sensor[placement] = samples

    present = [p for p in PLACEMENTS if p in per_sensor and len(per_sensor[p])]
    if present:
        time_s = np.concatenate([per_sensor[p].time_s for p in present]).astype(np.float64)
        rank = np.concatenate([np.full(len(per_sensor[p]), i) for i, p in enumerate(present)])
        values = np.concatenate(
            [
                np.column_stack([per_sensor[p].acc_mps2, np.rad2deg(per_sensor[p].gyr_rps)])
                for p in present
            ]
        ).astype(np.float64)
        order = np.lexsort((rank, time_s))
        time_s, rank, values = time_s[order], rank[order], values[order]
        names = np.array([p.value for p in present], dtype=object)
    with _open_for_writing(path_or_buffer) as out:
        out.write(",".join(RECORDING_COLUMNS) + "\n")
        if not present:
            return
        for start in range(0, len(time_s), _WRITE_BLOCK_ROWS):
            stop = start + _WRITE_BLOCK_ROWS
            block_values = values[start:stop]
            # Python's %-formatting of float lists: ~2 µs/row, no per-row Python loop
            # body, and exactly the C printf rounding the format promises.
            rows = zip(
                time_s[start:stop].tolist(),
                names[rank[start:stop]].tolist(),
                *(block_values[:, k].tolist() for k in range(6)),
                strict=True,
            )
            out.write("\n".join(map(_WRITE_FORMAT.__mod__, rows)) + "\n")


def _check_writable(placement: Placement, samples: ImuSamples) -> None:
    for name in ("time_s", "acc_mps2", "gyr_rps"):
        array = np.asarray(getattr(samples, name))
        if not np.issubdtype(array.dtype, np.number):
            raise TypeError(f"expected numbers in {placement}.{name}, got dtype {array.dtype}")
        finite = np.isfinite(array).all(axis=tuple(range(1, array.ndim)))
        bad = np.flatnonzero(~finite)
        if bad.size:
            raise ValueError(
                f"expected finite values in {placement}.{name}, got "
                f"{array[bad[0]].tolist()} at sample {bad[0]}"
            )
    step_us = np.diff(np.round(np.asarray(samples.time_s, np.float64) * 1e6))
    bad = np.flatnonzero(step_us <= 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"expected {placement}.time_s strictly increasing by at least 1 µs, got "
            f"{float(samples.time_s[i])!r} then {float(samples.time_s[i + 1])!r} "
            f"at samples {i}, {i + 1}"
        )


@contextmanager
def _open_for_writing(path_or_buffer: PathOrBuffer) -> Iterator[IO[str]]:
    if isinstance(path_or_buffer, str | os.PathLike):
        with open(path_or_buffer, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
    elif isinstance(path_or_buffer, io.RawIOBase | io.BufferedIOBase):
        wrapper = io.TextIOWrapper(path_or_buffer, encoding="utf-8", newline="\n")
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()  # leave the caller's binary buffer open
    elif hasattr(path_or_buffer, "write"):
        yield path_or_buffer  # type: ignore[misc]
    else:
        raise TypeError(
            f"expected a path or a writable file object, got {type(path_or_buffer).__name__}"
        )
