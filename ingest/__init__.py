"""Ingest: turn bytes from sensors and files into :class:`processing.ImuSamples`.

This is the edge where units are converted to SI and sensor clocks are mapped onto the
session clock, and where malformed input is caught and reported; nothing past it sees
a file, a radio or a foreign unit. Implementation lives in private modules; the public
names are the ones below.

Live sources
------------
Every source is a :class:`SensorSource`: an async context manager and async iterator
of :data:`SourceItem`, i.e. :class:`SensorBatch` (``placement``, ``samples`` as
:class:`~processing.ImuSamples` on the session clock in SI units, ``counter``, ``lost``,
``gap_before``, ``arrival_s``) or :class:`StatusEvent` (``kind``: connecting, connected,
disconnected, reconnecting, loss, battery, info, warning; ``placement``; ``message``;
``time_s``; ``value``). :meth:`SensorSource.stats` snapshots per sensor: samples, lost,
duplicates, late, rate_hz, battery_pct, connected, reconnects, clock drift. ::

    source = open_source({"kind": "simulated", "profile": "default", "speed": 1.0})
    async with source:
        async for item in source:
            if isinstance(item, SensorBatch):
                core.update(item.placement, item.samples)   # (Placement, ImuSamples)
            elif item.kind is StatusKind.DISCONNECTED:
                core.sensor_lost(item.placement)            # stop waiting for it

===================  =========================================================
:class:`BleSource`   real sensors over BLE (bleak + bleak-retry-connector):
                     several at once, reconnects, loss and clock mapping
:class:`SimulatedSource`  the simulator's virtual sensors through the same path
:class:`ReplaySource`     a recording CSV or a raw frame log, at any speed
:class:`RelaySource`      records from a remote ingester (``relay_forward``)
:func:`open_source`       build one from ``{"kind": ..., ...}``
===================  =========================================================

Every sample path goes through one decoder (:mod:`ingest._channel`): notifications
are decoded in vectorised batches, counted against the wire counter (exact loss,
duplicates and reordering not counted as loss), and timed by an online lower-envelope
fit of each sensor's clock (:class:`ClockMapper`, offset and drift).

Storage: :class:`RawLogWriter` appends every envelope record (a source's record sink)
and flushes at least every 0.25 s; :func:`load_raw_log` / :func:`export_raw_log` decode
a raw frame log, :func:`write_recording` / :func:`read_recording` the recording CSV.

Pairing: :func:`scan_sensors`, :func:`load_pairing`, :func:`save_pairing`,
:func:`identify_moving` (tap to identify).

Errors
------
Live sources::

    IngestError
     ├── SensorUnavailable       reason (UnavailableReason), placement, address
     ├── SourceSpecError         key           (also a ValueError)
     ├── PairingError            path
     ├── RawLogError             path
     └── RelayError              url

Recording CSV reader (see :mod:`ingest._recording`)::

    ValueError
     └── RecordingError          path, line, column, reason, detail
          ├── RecordingFormatError    missing_columns
          ├── RecordingValueError     text
          └── MissingSensorError      missing, present
"""

from ingest._ble import (
    BleBackends,
    BleParams,
    BleSource,
    FoundSensor,
    PairedSensor,
    SensorKind,
    scan_sensors,
)
from ingest._channel import RecordSink, warm_up
from ingest._clock import ClockMapper, ClockParams
from ingest._errors import (
    IngestError,
    PairingError,
    RawLogError,
    RelayError,
    SensorUnavailable,
    SourceSpecError,
    UnavailableReason,
)
from ingest._items import SensorBatch, SensorStats, SourceItem, StatusEvent, StatusKind
from ingest._loss import LossCounter
from ingest._open import open_source
from ingest._pairing import identify_moving, load_pairing, pairing_path, save_pairing
from ingest._rawlog import (
    RAW_LOG_SUFFIX,
    RawLogContents,
    RawLogReader,
    RawLogWriter,
    export_raw_log,
    load_raw_log,
)
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
from ingest._relay import RelaySource, relay_forward
from ingest._replay import ReplaySource
from ingest._simulated import SimulatedSource
from ingest._source import SensorSource, SourceParams

__all__ = [
    "BleBackends",
    "BleParams",
    "BleSource",
    "ClockMapper",
    "ClockParams",
    "DEFAULT_CHUNK_ROWS",
    "FoundSensor",
    "IngestError",
    "LossCounter",
    "MissingSensorError",
    "PairedSensor",
    "PairingError",
    "PathOrBuffer",
    "RAW_LOG_SUFFIX",
    "RawLogContents",
    "RawLogError",
    "RawLogReader",
    "RawLogWriter",
    "RecordSink",
    "RecordingError",
    "RecordingErrorReason",
    "RecordingFormatError",
    "RecordingValueError",
    "RelayError",
    "RelaySource",
    "ReplaySource",
    "SensorBatch",
    "SensorKind",
    "SensorSource",
    "SensorStats",
    "SensorUnavailable",
    "SimulatedSource",
    "SourceItem",
    "SourceParams",
    "SourceSpecError",
    "StatusEvent",
    "StatusKind",
    "UnavailableReason",
    "export_raw_log",
    "identify_moving",
    "iter_recording",
    "load_pairing",
    "load_raw_log",
    "open_source",
    "pairing_path",
    "read_recording",
    "relay_forward",
    "save_pairing",
    "scan_sensors",
    "warm_up",
    "write_recording",
]
