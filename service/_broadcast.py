"""Fan-out of one session's live messages to its WebSocket clients.

The session publishes each message once (serialised once); every client has its own
bounded queue, so a slow client never slows the session or the other clients:

- angle frames (the only droppable messages) go to a ring of
  ``Settings.client_angle_frames``; when it is full the oldest frame is dropped;
- everything else (bottom, rep, cue, rep_cancelled, sensor, status) is never dropped;
  if more than ``Settings.client_max_pending`` of them wait, the client is hopelessly
  behind: its queue is discarded and it is closed with :attr:`CloseReason.CLIENT_TOO_SLOW`.

Messages leave in publication order (a sequence number orders the two queues).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum

from service._metrics import ServiceMetrics, StepStamps


class CloseReason(Enum):
    """Why the server ends a live WebSocket: its close code and reason text.

    Codes: 1000 normal, 1001 going away, 4000-4999 squatsense's own (4008: policy of
    the live stream, 4410: gone).
    """

    #: The session finished (stopped, or its source ended); everything was sent.
    SESSION_ENDED = (1000, "session ended")
    #: The server is shutting down; the session was stopped.
    SERVER_SHUTDOWN = (1001, "server shutting down")
    #: The client fell too far behind: reps or cues would have had to be dropped.
    CLIENT_TOO_SLOW = (4008, "client too slow: too many cues and reps waiting")
    #: The session was deleted.
    SESSION_DELETED = (4410, "session deleted")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One serialised live message.

    Attributes
    ----------
    seq : int
        Publication order within the session.
    kind : str
        The message's ``type``.
    text : str
        The JSON text sent.
    droppable : bool
        True for angle frames.
    entered_ns : int
        ``time.monotonic_ns()`` at which the samples behind this message reached the
        host (frame in: the host time stamp of the oldest notification of the processing
        step that produced it); 0 when it is not measured.
    stamps : StepStamps or None
        When those samples passed the stages up to the processing step.
    published_ns : int
        ``time.monotonic_ns()`` of publication (0 when not measured).
    """

    seq: int
    kind: str
    text: str
    droppable: bool
    entered_ns: int = 0
    stamps: StepStamps | None = None
    published_ns: int = 0


class Subscriber:
    """One client's queue. Filled by the :class:`Broadcaster`, drained by the client's task."""

    def __init__(self, metrics: ServiceMetrics, angle_frames: int, max_pending: int) -> None:
        self._metrics = metrics
        self._angles: deque[Outgoing] = deque(maxlen=angle_frames)
        self._others: deque[Outgoing] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._aborted_event = asyncio.Event()
        #: Set once the stream must end: after the queue is drained (``end``) or at
        #: once (``abort``, the queue discarded).
        self.close_reason: CloseReason | None = None
        self._aborted = False
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Messages waiting."""
        return len(self._angles) + len(self._others)

    def offer(self, msg: Outgoing) -> None:
        """Queue a message without waiting (called by the session, on the event loop)."""
        if self.close_reason is not None:
            return
        if msg.droppable:
            if len(self._angles) == self._angles.maxlen:
                self.dropped += 1
                self._metrics.angle_frames_dropped += 1
            self._angles.append(msg)
        else:
            self._others.append(msg)
            if len(self._others) > self._max_pending:
                self._metrics.clients_closed_slow += 1
                self.abort(CloseReason.CLIENT_TOO_SLOW)
                return
        self._wake.set()

    def end(self, reason: CloseReason) -> None:
        """End the stream once everything queued has been taken."""
        if self.close_reason is None:
            self.close_reason = reason
            self._wake.set()

    def abort(self, reason: CloseReason) -> None:
        """End the stream now, discarding what is queued."""
        if self.close_reason is None or not self._aborted:
            self.close_reason = reason
            self._aborted = True
            self._angles.clear()
            self._others.clear()
            self._wake.set()
            self._aborted_event.set()

    async def wait_aborted(self) -> CloseReason:
        """Return once the stream was aborted (even while a send is stuck), with why."""
        await self._aborted_event.wait()
        return self.close_reason or CloseReason.CLIENT_TOO_SLOW

    async def next(self) -> Outgoing | None:
        """The next message in publication order; None once the stream has ended."""
        while True:
            if self._aborted:
                return None
            a = self._angles[0] if self._angles else None
            o = self._others[0] if self._others else None
            if a is not None and (o is None or a.seq < o.seq):
                return self._angles.popleft()
            if o is not None:
                return self._others.popleft()
            if self.close_reason is not None:
                return None
            self._wake.clear()
            await self._wake.wait()


class Broadcaster:
    """The clients of one session.

    Parameters
    ----------
    metrics : ServiceMetrics
    angle_frames : int
        Angle frames buffered per client before the oldest is dropped.
    max_pending : int
        Other messages that may wait for one client before it is closed as too slow.
    """

    def __init__(self, metrics: ServiceMetrics, angle_frames: int, max_pending: int) -> None:
        self._metrics = metrics
        self._angle_frames = angle_frames
        self._max_pending = max_pending
        self._subscribers: set[Subscriber] = set()
        self._seq = itertools.count()
        self.closed: CloseReason | None = None

    @property
    def has_subscribers(self) -> bool:
        """True when someone listens (angle frames are built only then)."""
        return bool(self._subscribers)

    def subscribe(self) -> Subscriber:
        """A new client's queue; it receives every message published from now on."""
        sub = Subscriber(self._metrics, self._angle_frames, self._max_pending)
        if self.closed is not None:
            sub.end(self.closed)
        else:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a client (it disconnected)."""
        self._subscribers.discard(sub)

    def publish(
        self,
        kind: str,
        text: str,
        *,
        droppable: bool = False,
        entered_ns: int = 0,
        stamps: StepStamps | None = None,
    ) -> None:
        """Queue a serialised message for every client.

        `entered_ns` (frame in) and `stamps` are for the latency metrics
        (:mod:`service._metrics`); 0 and None: not measured.
        """
        published = time.monotonic_ns() if entered_ns else 0
        msg = Outgoing(next(self._seq), kind, text, droppable, entered_ns, stamps, published)
        for sub in self._subscribers:
            sub.offer(msg)

    def close(self, reason: CloseReason, *, drain: bool = True) -> None:
        """End every client's stream (after what is queued, if `drain`); refuse new ones."""
        self.closed = reason
        for sub in self._subscribers:
            if drain:
                sub.end(reason)
            else:
                sub.abort(reason)
        self._subscribers.clear()
