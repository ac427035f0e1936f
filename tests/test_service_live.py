"""The live path's parts: per-client queues, the WebSocket state machine, session states."""

from __future__ import annotations

import asyncio

import pytest

from service import LIVE_TRANSITIONS, TRANSITIONS, CloseReason, LiveState, SessionState
from service._broadcast import Broadcaster
from service._live import LiveConnection
from service._metrics import ServiceMetrics


async def drain_now(sub) -> list:
    """Everything a subscriber would hand out right now (no waiting)."""
    out = []
    while True:
        try:
            msg = await asyncio.wait_for(sub.next(), 0.01)
        except TimeoutError:
            return out
        if msg is None:
            return out
        out.append(msg)


async def test_a_slow_client_loses_the_oldest_angle_frames_first_and_never_a_cue():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=3, max_pending=100)
    sub = hub.subscribe()
    for i in range(10):
        hub.publish("angles", f"a{i}", droppable=True)
        if i % 4 == 0:
            hub.publish("cue", f"c{i}")
    hub.publish("rep", "r")
    texts = [m.text for m in await drain_now(sub)]
    assert texts == ["c0", "c4", "a7", "a8", "c8", "a9", "r"]  # publication order kept
    assert sub.dropped == metrics.angle_frames_dropped == 7


async def test_a_hopelessly_slow_client_is_cut_off_with_a_code_and_reason():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=3, max_pending=5)
    slow, fast = hub.subscribe(), hub.subscribe()
    got = []
    for i in range(8):
        hub.publish("cue", f"c{i}")
        got += [m.text for m in await drain_now(fast)]  # the other client keeps up
    assert slow.close_reason is CloseReason.CLIENT_TOO_SLOW
    assert (slow.close_reason.code, slow.close_reason.reason.startswith("client too slow")) == (
        4008,
        True,
    )
    assert await drain_now(slow) == [] and slow.pending == 0  # its queue was discarded
    assert got == [f"c{i}" for i in range(8)]  # and the fast one lost nothing
    assert metrics.clients_closed_slow == 1


async def test_ending_a_stream_delivers_what_is_queued_first():
    hub = Broadcaster(ServiceMetrics(), angle_frames=10, max_pending=10)
    sub = hub.subscribe()
    hub.publish("rep", "r1")
    hub.publish("status", "s")
    hub.close(CloseReason.SESSION_ENDED)
    assert [m.text for m in await drain_now(sub)] == ["r1", "s"]
    late = hub.subscribe()  # after the end: an ended stream, nothing more
    assert late.close_reason is CloseReason.SESSION_ENDED and await drain_now(late) == []


class FakeSocket:
    """A WebSocket whose sends succeed, or hang forever (a client that stopped reading)."""

    def __init__(self, *, stuck_after: int | None = None) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.stuck_after = stuck_after
        self._forever = asyncio.Event()

    async def accept(self) -> None:
        pass

    async def send_text(self, text: str) -> None:
        if self.stuck_after is not None and len(self.sent) >= self.stuck_after:
            await self._forever.wait()
        self.sent.append(text)

    async def receive(self) -> dict:
        await self._forever.wait()
        return {"type": "websocket.disconnect"}

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_the_snapshot_comes_first_then_messages_then_a_normal_close():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=10, max_pending=10)
    sub = hub.subscribe()
    hub.publish("rep", "r1")  # published after subscribing, before the snapshot was sent
    ws = FakeSocket()
    conn = LiveConnection(ws, "snapshot", sub, metrics)  # type: ignore[arg-type]
    task = asyncio.ensure_future(conn.run())
    await asyncio.sleep(0.05)
    assert conn.state is LiveState.STREAMING and metrics.clients == 1
    hub.publish("cue", "c1", entered_ns=1)
    hub.close(CloseReason.SESSION_ENDED)
    await asyncio.wait_for(task, 2)
    assert ws.sent == ["snapshot", "r1", "c1"]
    assert ws.closed == (1000, "session ended") and conn.state is LiveState.CLOSED
    assert metrics.clients == 0 and metrics.latency["cue"].count == 1


async def test_a_client_stuck_in_a_send_is_closed_as_too_slow():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=2, max_pending=3)
    sub = hub.subscribe()
    ws = FakeSocket(stuck_after=2)  # takes the snapshot and one message, then never again
    conn = LiveConnection(ws, "snapshot", sub, metrics)  # type: ignore[arg-type]
    task = asyncio.ensure_future(conn.run())
    for i in range(20):
        hub.publish("angles", f"a{i}", droppable=True)
        hub.publish("cue", f"c{i}")
        await asyncio.sleep(0)
    await asyncio.wait_for(task, 5)  # the session never waited; the client was cut off
    assert ws.closed == (CloseReason.CLIENT_TOO_SLOW.code, CloseReason.CLIENT_TOO_SLOW.reason)
    assert conn.close_reason is CloseReason.CLIENT_TOO_SLOW and conn.state is LiveState.CLOSED


async def test_a_client_that_leaves_ends_its_connection_quietly():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=2, max_pending=3)
    ws = FakeSocket()
    ws._forever.set()  # receive() returns a disconnect at once
    conn = LiveConnection(ws, "snapshot", hub.subscribe(), metrics)  # type: ignore[arg-type]
    await asyncio.wait_for(conn.run(), 2)
    assert conn.state is LiveState.CLOSED and conn.close_reason is None and ws.closed is None


def test_live_connection_transitions_are_checked():
    conn = LiveConnection(None, "", None, ServiceMetrics())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="illegal transition connecting → streaming"):
        conn._to(LiveState.STREAMING)
    # Every state can reach CLOSED, and CLOSED is final.
    for state in LiveState:
        reachable, todo = set(), [state]
        while todo:
            for nxt in LIVE_TRANSITIONS[todo.pop()] - reachable:
                reachable.add(nxt)
                todo.append(nxt)
        assert state is LiveState.CLOSED or LiveState.CLOSED in reachable
    assert LIVE_TRANSITIONS[LiveState.CLOSED] == frozenset()


def test_session_states_end_in_finished_or_failed_and_interrupted_is_only_found():
    ended = {SessionState.FINISHED, SessionState.FAILED, SessionState.INTERRUPTED}
    for state in ended:
        assert TRANSITIONS[state] == frozenset()
    assert all(SessionState.INTERRUPTED not in nxt for nxt in TRANSITIONS.values())
    assert SessionState.STOPPING in TRANSITIONS[SessionState.RUNNING]
    assert SessionState.RUNNING not in TRANSITIONS[SessionState.STOPPING]
