"""WebSockets of a session: ``/live`` (to clients) and ``/relay`` (from a remote ingester).

Both need the token (``Authorization: Bearer`` or ``?token=``). Refusals (no token,
unknown session, not a relay session) are answered on the handshake with an HTTP status
and the usual JSON error body, before any WebSocket exists.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket

from service._broadcast import CloseReason, Subscriber
from service._errors import SessionStateError
from service._live import LiveConnection
from service._messages import encode
from service._schemas import SessionState
from service._session import LiveSession
from service._store import Store
from service.deps import SessionDep, SessionRef, StateDep, WsAuthorized

router = APIRouter(prefix="/api/sessions", tags=["live"], dependencies=[WsAuthorized])

#: Close code and reason of a relay that sent text instead of binary records.
RELAY_NOT_BINARY = (1003, "expected binary envelope records")
#: ... and of one that a newer relay connection replaced (a box that reconnected).
RELAY_REPLACED = (4409, "replaced by a newer relay connection")


def _stored_snapshot(store: Store, ref: SessionRef) -> str:
    row = ref.row or store.get_session(ref.id)
    if row is None:
        raise SessionStateError(ref.id, "deleted", "it was deleted")

    def bare(doc: dict[str, object]) -> dict[str, object]:
        doc.pop("type", None)
        return doc

    return encode(
        {
            "type": "status",
            "event": "snapshot",
            "detail": "",
            "state": row.state,
            "reason": row.reason,
            "t_s": round(row.duration_s, 3),
            "calibrated": None,
            "set": row.last_set,
            "rep_count": row.rep_count,
            "cue_count": row.cue_count,
            "session_id": row.id,
            "athlete": row.athlete,
            "placements": list(row.placements),
            "sensors": row.sensors,
            "reps": [bare(r) for r in store.reps(row.id)],
            "cues": [bare(c) for c in store.cues(row.id)],
        }
    )


@router.websocket("/{session_id}/live")
async def live(websocket: WebSocket, ref: SessionDep, state: StateDep) -> None:
    """Live angles, bottoms, reps, cues, sensor and status messages (docs/api.md).

    The first message is a ``status`` snapshot; a session that has ended sends only that,
    then closes with 1000.
    """
    session = ref.live
    if session is not None:
        # Subscribe and take the snapshot in one step of the loop: nothing in between.
        sub = session.broadcaster.subscribe()
        snapshot = session.snapshot_text()
    else:
        snapshot = await asyncio.to_thread(_stored_snapshot, state.store, ref)
        sub = Subscriber(state.metrics, 1, 1)
        sub.end(CloseReason.SESSION_ENDED)
    try:
        await LiveConnection(websocket, snapshot, sub, state.metrics).run()
    finally:
        if session is not None:
            session.broadcaster.unsubscribe(sub)


def _relay_session(ref: SessionRef) -> LiveSession:
    session = ref.live
    if session is None or not session.live:
        state = ref.row.state if ref.row is not None else SessionState.FINISHED
        raise SessionStateError(ref.id, state, "a relay can only feed a running relay session")
    if not session.engine.is_relay:
        raise SessionStateError(
            ref.id, session.state, f"its source is {session.kind!r}, not 'relay'"
        )
    return session


@router.websocket("/{session_id}/relay")
async def relay(websocket: WebSocket, ref: SessionDep) -> None:
    """Binary messages of envelope records (``ingest.relay_forward``) into a relay session.

    A dropped relay connection does not end the session (the remote reconnects and its
    sensors show as disconnected meanwhile); stop the session to end it. A newer relay
    connection takes over: the older one is closed (4409) at its next message.
    """
    session = _relay_session(ref)
    session.relay_owner += 1
    me = session.relay_owner
    await websocket.accept()
    ended = asyncio.ensure_future(session.done.wait())
    try:
        while True:
            receive = asyncio.ensure_future(websocket.receive())
            done, _ = await asyncio.wait({receive, ended}, return_when=asyncio.FIRST_COMPLETED)
            if ended in done:
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
                await websocket.close(*CloseReason.SESSION_ENDED.value)
                return
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            if session.relay_owner != me:
                await websocket.close(*RELAY_REPLACED)
                return
            data = message.get("bytes")
            if data is None:
                await websocket.close(*RELAY_NOT_BINARY)
                return
            session.engine.feed_relay(data)
    finally:
        ended.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ended
