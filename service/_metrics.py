"""Counters and latency windows of the live path (``GET /api/metrics``, the benchmark).

Recording a value costs a list store and an integer add, so every message can be
measured; percentiles are computed only when asked.
"""

from __future__ import annotations

import numpy as np

#: Values kept per latency window (the newest).
WINDOW = 10_000


class LatencyWindow:
    """The newest :data:`WINDOW` durations, ns."""

    __slots__ = ("_values", "_next", "count")

    def __init__(self) -> None:
        self._values: list[int] = []
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
        """``count`` (all time) and ``p50_ms``, ``p99_ms``, ``max_ms`` over the window."""
        if not self._values:
            return {"count": self.count, "p50_ms": None, "p99_ms": None, "max_ms": None}
        ms = np.asarray(self._values, dtype=np.float64) * 1e-6
        p50, p99 = np.percentile(ms, [50, 99])
        return {
            "count": self.count,
            "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3),
            "max_ms": round(float(ms.max()), 3),
        }


class ServiceMetrics:
    """What the live path did since the server started.

    Attributes
    ----------
    latency : dict of str to LatencyWindow
        Per message type (``angles``, ``bottom``, ``rep``, ``cue``): from the newest
        sample of the batch that produced the message entering the service to the
        message handed to a client's socket (one value per client).
    processing : LatencyWindow
        Time per processing step of a session (``SessionProcessor.feed`` of every
        sensor's queued samples).
    messages_sent, angle_frames_dropped, clients_closed_slow : int
    clients : int
        Live WebSocket clients right now.
    live_sessions : int
        Sessions streaming right now.
    step_cost_s : float
        Moving average of the time per processing step, s (sets the step cadence).
    """

    def __init__(self) -> None:
        self.latency: dict[str, LatencyWindow] = {
            k: LatencyWindow() for k in ("angles", "bottom", "rep", "cue")
        }
        self.processing = LatencyWindow()
        self.messages_sent = 0
        self.angle_frames_dropped = 0
        self.clients_closed_slow = 0
        self.clients = 0
        self.live_sessions = 0
        self.step_cost_s = 0.001

    def add_step(self, ns: int) -> None:
        """Record one processing step (its duration, ns)."""
        self.processing.add(ns)
        self.step_cost_s += 0.02 * (ns * 1e-9 - self.step_cost_s)
