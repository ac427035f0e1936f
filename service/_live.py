"""The live WebSocket of one client, as an explicit state machine.

::

    CONNECTING ──accept──► SNAPSHOT ──sent──► STREAMING ──server ends──► CLOSING ──► CLOSED
         │                    │                   │
         └────────────────────┴───────────────────┴──client left / send failed──► CLOSED

- CONNECTING: the token and the session were checked (refusals never get here: they are
  answered on the handshake with an HTTP status and a JSON body).
- SNAPSHOT: the client is subscribed *before* the snapshot is taken, in the same step of
  the event loop, so nothing published in between is missed or repeated; the snapshot
  (a ``status`` message with ``event: "snapshot"``: state, sensors, reps and cues so
  far) is sent first.
- STREAMING: messages in publication order from the client's bounded queue
  (:mod:`service._broadcast`); what the client sends is read and ignored, which is how
  its departure is noticed.
- CLOSING: the server ends the stream with a :class:`~service.CloseReason` (code and
  reason): session ended (1000), server shutdown (1001), client too slow (4008),
  session deleted (4410).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from enum import StrEnum

from starlette.websockets import WebSocket, WebSocketDisconnect

from service._broadcast import CloseReason, Subscriber
from service._metrics import ServiceMetrics


class LiveState(StrEnum):
    """States of a live WebSocket connection."""

    CONNECTING = "connecting"
    SNAPSHOT = "snapshot"
    STREAMING = "streaming"
    CLOSING = "closing"
    CLOSED = "closed"


#: Legal transitions; anything else is a bug and raises.
LIVE_TRANSITIONS: dict[LiveState, frozenset[LiveState]] = {
    LiveState.CONNECTING: frozenset({LiveState.SNAPSHOT, LiveState.CLOSED}),
    LiveState.SNAPSHOT: frozenset({LiveState.STREAMING, LiveState.CLOSING, LiveState.CLOSED}),
    LiveState.STREAMING: frozenset({LiveState.CLOSING, LiveState.CLOSED}),
    LiveState.CLOSING: frozenset({LiveState.CLOSED}),
    LiveState.CLOSED: frozenset(),
}

#: Longest wait for a close frame to go out to a client that may not be reading, s.
CLOSE_TIMEOUT_S = 2.0

# What a send to a client that has gone raises (starlette, the ASGI server, the OS).
_GONE = (WebSocketDisconnect, RuntimeError, OSError)


class LiveConnection:
    """Serve one client of ``WS /api/sessions/{id}/live``.

    Parameters
    ----------
    websocket : starlette.websockets.WebSocket
        Not yet accepted.
    snapshot : str
        The first message (JSON text).
    subscriber : Subscriber
        The client's queue, subscribed before `snapshot` was taken.
    metrics : ServiceMetrics
    on_close : callable, optional
        Called once when the connection is closed (to unsubscribe).
    """

    def __init__(
        self,
        websocket: WebSocket,
        snapshot: str,
        subscriber: Subscriber,
        metrics: ServiceMetrics,
    ) -> None:
        self.websocket = websocket
        self.snapshot = snapshot
        self.subscriber = subscriber
        self.metrics = metrics
        self.state = LiveState.CONNECTING
        #: How the server ended the stream (None: the client left first).
        self.close_reason: CloseReason | None = None

    def _to(self, new: LiveState) -> None:
        if new not in LIVE_TRANSITIONS[self.state]:
            raise RuntimeError(f"live connection: illegal transition {self.state} → {new}")
        self.state = new

    async def run(self) -> None:
        """Accept, send the snapshot, stream until either side ends.

        Never raises because the client went away.
        """
        self.metrics.clients += 1
        try:
            await self.websocket.accept()
            self._to(LiveState.SNAPSHOT)
            if not await self._send(self.snapshot):
                self._to(LiveState.CLOSED)
                return
            self._to(LiveState.STREAMING)
            reader = asyncio.ensure_future(self._read_until_gone())
            writer = asyncio.ensure_future(self._write())
            # An abort (client too slow) must end the stream even while a send is stuck
            # on a client that does not read.
            aborted = asyncio.ensure_future(self.subscriber.wait_aborted())
            tasks = {reader, writer, aborted}
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *_GONE):
                        await task
            if aborted in done:
                reason: CloseReason | None = aborted.result()
            elif writer in done:
                reason = writer.result()
            else:
                reason = None  # the client left
            if reason is None:
                self._to(LiveState.CLOSED)
                return
            self.close_reason = reason
            self._to(LiveState.CLOSING)
            with contextlib.suppress(TimeoutError, *_GONE):
                await asyncio.wait_for(
                    self.websocket.close(reason.code, reason.reason), CLOSE_TIMEOUT_S
                )
            self._to(LiveState.CLOSED)
        finally:
            self.metrics.clients -= 1
            if self.state is not LiveState.CLOSED:
                self.state = LiveState.CLOSED  # an exception (e.g. cancelled): it is over

    async def _send(self, text: str) -> bool:
        try:
            await self.websocket.send_text(text)
        except _GONE:
            return False
        return True

    async def _write(self) -> CloseReason | None:
        """Send queued messages; return why the server ends the stream (None: send failed)."""
        metrics = self.metrics
        while True:
            msg = await self.subscriber.next()
            if msg is None:
                return self.subscriber.close_reason or CloseReason.SESSION_ENDED
            if not await self._send(msg.text):
                return None
            metrics.messages_sent += 1
            if msg.entered_ns:
                metrics.add_sent(
                    msg.kind, msg.entered_ns, msg.stamps, msg.published_ns, time.monotonic_ns()
                )

    async def _read_until_gone(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
