"""Counters and latency windows of the live path (``GET /api/metrics``, the benchmark).

Recording a value costs an array store and an integer add, so every message can be
measured; percentiles are computed only when asked.

A live message's latency runs from the host time stamp of the notification behind it
(when it reached this machine: the ingest boundary) to the message being handed to the
client's socket, in four stages::

    frame in ──ingest──► taken ──queue──► step ──processing──► published ──send──► sent
      │                    │                │                      │                 │
      host time stamp      the session      its processing step    the message was   written
      of the oldest        took the decoded starts                 queued for every  to the
      notification in      batch from the                          client            client
      the step             source
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

#: Values kept per latency window (the newest).
WINDOW = 10_000


class LatencyWindow:
    """The newest :data:`WINDOW` durations, ns."""

    __slots__ = ("_values", "_next", "count")

    def __init__(self) -> None:
        # A typed array, not a list of int objects: the garbage collector's full
        # collections do not walk its 10 000 values.
        self._values = array("q")
        self._next = 0
        self.count = 0

    def add(self, ns: int) -> None:
        """Record one duration, ns."""
        self.count += 1
        if len(self._values) < WINDOW:
            self._values.append(ns)
        else:
            self._values[self._next] = ns
            self._next = (self._next + 1) % WINDOW

    def summary(self) -> dict[str, float | int | None]:
        """``count`` (all time) and ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms`` (window)."""
        if not self._values:
            return {
                "count": self.count,
                "p50_ms": None,
                "p95_ms": None,
                "p99_ms": None,
                "max_ms": None,
            }
        ms = np.frombuffer(self._values, dtype=np.int64) * 1e-6
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return {
            "count": self.count,
            "p50_ms": round(float(p50), 3),
            "p95_ms": round(float(p95), 3),
            "p99_ms": round(float(p99), 3),
            "max_ms": round(float(ms.max()), 3),
        }


@dataclass(frozen=True, slots=True)
class StepStamps:
    """When the samples behind a processing step's messages passed each stage.

    All ``time.monotonic_ns()``.

    Attributes
    ----------
    frame_in_ns : int
        Host time stamp of the oldest notification whose samples the step processed.
    taken_ns : int
        When the session took that notification's batch (decoded) from its source.
    step_ns : int
        When the processing step started.
    """

    frame_in_ns: int
    taken_ns: int
    step_ns: int


#: The stages of a live message's latency, in order (see the module docstring).
STAGES = ("ingest", "queue", "processing", "send")


class ServiceMetrics:
    """What the live path did since the server started.

    Attributes
    ----------
    latency : dict of str to LatencyWindow
        Per message type (``angles``, ``bottom``, ``rep``, ``cue``): from the host time
        stamp of the oldest notification behind the message (frame in) to the message
        handed to a client's socket (one value per client).
    stages : dict of str to LatencyWindow
        The same, split into :data:`STAGES` (the four message types together).
    processing : LatencyWindow
        Time per processing step of a session (one ``SessionProcessor.feed_batch`` of
        every sensor's queued samples).
    messages_sent, angle_frames_dropped, clients_closed_slow : int
    clients : int
        Live WebSocket clients right now.
    live_sessions : int
        Sessions streaming right now.
    """

    def __init__(self) -> None:
        self.latency: dict[str, LatencyWindow] = {
            k: LatencyWindow() for k in ("angles", "bottom", "rep", "cue")
        }
        self.stages: dict[str, LatencyWindow] = {k: LatencyWindow() for k in STAGES}
        self.processing = LatencyWindow()
        self.messages_sent = 0
        self.angle_frames_dropped = 0
        self.clients_closed_slow = 0
        self.clients = 0
        self.live_sessions = 0

    def add_step(self, ns: int) -> None:
        """Record one processing step (its duration, ns)."""
        self.processing.add(ns)

    def add_sent(
        self, kind: str, frame_in_ns: int, stamps: StepStamps | None, published_ns: int, now: int
    ) -> None:
        """Record a measured message handed to a client's socket at `now` (ns)."""
        window = self.latency.get(kind)
        if window is None:
            return
        window.add(now - frame_in_ns)
        if stamps is not None:
            stages = self.stages
            stages["ingest"].add(stamps.taken_ns - stamps.frame_in_ns)
            stages["queue"].add(stamps.step_ns - stamps.taken_ns)
            stages["processing"].add(published_ns - stamps.step_ns)
            stages["send"].add(now - published_ns)
