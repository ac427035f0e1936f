"""Ingest: turn bytes from sensors and files into :class:`processing.ImuSamples`.

This is the edge where units are converted to SI (gyroscope deg/s to rad/s) and
where malformed input is caught and reported; nothing past it sees a file or a
foreign unit. Implementation lives in private modules; the public names are the
ones below.

Errors of the recording CSV reader (see :mod:`ingest._recording`)::

    ValueError
     └── RecordingError          path, line, column, reason, detail
          ├── RecordingFormatError    missing_columns
          ├── RecordingValueError     text
          └── MissingSensorError      missing, present
"""

from ingest._recording import (
    DEFAULT_CHUNK_ROWS,
    MissingSensorError,
    PathOrBuffer,
    RecordingError,
    RecordingErrorReason,
    RecordingFormatError,
    RecordingValueError,
    iter_recording,
    read_recording,
    write_recording,
)

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
