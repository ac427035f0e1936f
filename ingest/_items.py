"""What a live source yields: sample batches and status events, and per-sensor stats."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from firmware_protocol import SensorInfo
from processing import ImuSamples, Placement


class StatusKind(StrEnum):
    """What a :class:`StatusEvent` reports. The value is a stable snake_case name."""

    #: A connection attempt started (BLE) or the sensor's stream opened.
    CONNECTING = "connecting"
    #: The sensor streams: its info is known and samples will follow.
    CONNECTED = "connected"
    #: The sensor's link dropped, or it was silent for longer than the silence timeout.
    #: Consumers stop waiting for it until it is ``connected`` again.
    DISCONNECTED = "disconnected"
    #: A reconnection attempt is scheduled; ``value`` is the attempt number.
    RECONNECTING = "reconnecting"
    #: Samples were lost since the last ``loss`` event; ``value`` is how many.
    LOSS = "loss"
    #: Battery level; ``value`` in percent.
    BATTERY = "battery"
    #: The sensor's info (chip, rate, ranges, MTU), in the message.
    INFO = "info"
    #: Something was wrong but handled: bad frames skipped, damaged log bytes, a clock
    #: that jumped and was re-anchored, a placement that disagrees with the pairing.
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A change in a sensor's (or the source's) state.

    Attributes
    ----------
    kind : StatusKind
        What happened.
    placement : Placement or None
        The sensor concerned, or None for the source as a whole.
    message : str
        One line for people, e.g. ``"shin_left: silent for 1.5 s"``.
    time_s : float
        When, on the session clock, s.
    value : float or None
        The number that goes with the kind (battery %, samples lost, attempt number).
    """

    kind: StatusKind
    placement: Placement | None
    message: str
    time_s: float
    value: float | None = None


@dataclass(frozen=True, slots=True)
class SensorBatch:
    """Consecutive new samples of one sensor, in SI units on the session clock.

    Attributes
    ----------
    placement : Placement
        The sensor.
    samples : ImuSamples
        ``time_s`` shape (N,) in s on the session clock, strictly increasing across all
        batches of this sensor; ``acc_mps2`` (N, 3) in m/s²; ``gyr_rps`` (N, 3) in rad/s;
        sensor frame.
    counter : ndarray of uint16, shape (N,), or None
        The samples' wire counters; None for sensors without one (WitMotion, the CSV).
    lost : int
        Samples lost between the previous batch of this sensor and this one (exact for
        squatsense sensors, estimated for WitMotion; 0 from a CSV).
    gap_before : bool
        True for the first batch after a disconnect, reconnect or silence: the time
        between the previous batch and this one is an outage, not data.
    arrival_s : float
        Session time at which the newest notification in the batch arrived, s; minus
        ``samples.time_s[-1]`` it is the latency of the live path.
    first_arrival_s : float
        Session time at which the oldest notification in the batch arrived, s (its host
        time stamp, taken when the notification reached the host): where the live
        latency of whatever the batch's samples cause is measured from. Equal to
        `arrival_s` for a batch from one notification, or from a CSV block.
    """

    placement: Placement
    samples: ImuSamples
    counter: NDArray[np.uint16] | None
    lost: int
    gap_before: bool
    arrival_s: float
    first_arrival_s: float

    def __len__(self) -> int:
        return len(self.samples)


#: What iterating a :class:`~ingest.SensorSource` yields.
SourceItem: TypeAlias = SensorBatch | StatusEvent


@dataclass(frozen=True, slots=True)
class SensorStats:
    """A snapshot of one sensor's counters (see :meth:`SensorSource.stats`).

    Attributes
    ----------
    placement : Placement
        The sensor.
    connected : bool
        True while it streams (False before the first sample, after a disconnect and
        while silent for longer than the silence timeout).
    samples : int
        Samples delivered so far.
    lost : int
        Samples lost so far: counter values never received, exact for squatsense
        sensors (duplicates and reordered frames are not loss); estimated for WitMotion.
        Samples not sent while disconnected are not included; see ``outage_s``.
    duplicates : int
        Samples received more than once (dropped).
    late : int
        Samples received after a later sample had already been delivered, from a
        reordered or repeated frame (dropped, not lost: the live stream cannot go back
        in time). Samples in order whose mapped time falls back, because the clock fit
        moved, are not late: they are delivered, their times slewed forward.
    bad_frames : int
        Notifications that did not decode (skipped).
    rate_hz : float
        Samples received per second over the last 2 s of the session clock.
    battery_pct : int or None
        Last battery level, percent.
    reconnects : int
        Times the sensor came back after a disconnect.
    outage_s : float
        Total time spent disconnected after the first connection, s.
    clock_drift_ppm : float or None
        Estimated rate error of the sensor's clock against the host's, ppm.
    att_mtu : int or None
        Negotiated ATT MTU (BLE sources).
    info : SensorInfo or None
        The sensor's info value.
    address : str or None
        Bluetooth address (BLE sources).
    """

    placement: Placement
    connected: bool
    samples: int
    lost: int
    duplicates: int
    late: int
    bad_frames: int
    rate_hz: float
    battery_pct: int | None
    reconnects: int
    outage_s: float
    clock_drift_ppm: float | None
    att_mtu: int | None
    info: SensorInfo | None
    address: str | None

    @property
    def loss_ratio(self) -> float:
        """``lost / (samples + lost)``, 0 before any sample."""
        total = self.samples + self.lost
        return self.lost / total if total else 0.0
