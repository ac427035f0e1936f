"""``/api/sessions``: create, list, inspect, stop, delete; summary and CSV exports."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from service._csv import angles_csv_text, raw_csv_text, reps_csv_text
from service._errors import SessionStateError
from service._routes._common import (
    AUTH_RESPONSES,
    CSV_RESPONSES,
    SESSION_RESPONSES,
    CsvResponse,
    csv_response,
    errors,
)
from service._schemas import (
    SensorPublic,
    SessionCreate,
    SessionCreated,
    SessionListPublic,
    SessionPublic,
    SessionState,
    SourceIn,
    SummaryPublic,
)
from service._session import LIVE_STATES, LiveSession
from service._store import SessionRow, Store
from service.deps import Authorized, ManagerDep, SessionDep, SessionRef, StoreDep

router = APIRouter(prefix="/api/sessions", tags=["sessions"], dependencies=[Authorized])

_source_adapter: TypeAdapter[Any] = TypeAdapter(SourceIn)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _sensors(docs: list[dict[str, Any]]) -> list[SensorPublic]:
    return [SensorPublic(**d) for d in docs]


def _live_public(s: LiveSession) -> SessionPublic:
    return SessionPublic(
        id=s.id,
        athlete=s.athlete,
        athlete_id=s.athlete_id,
        state=s.state,
        reason=s.reason,
        source=_source_adapter.validate_python(s.spec),
        created_at=datetime.fromisoformat(s.created_at),
        ended_at=_dt(s.ended_at),
        duration_s=round(s.t_s, 3),
        placements=list(s.placements),
        sensors=_sensors(s.sensors()),
        live=s.state in LIVE_STATES,
        calibrated=s.calibrated,
        set=s.set_number,
        rep_count=len(s.reps),
        cue_count=len(s.cues),
    )


def _stored_public(r: SessionRow) -> SessionPublic:
    return SessionPublic(
        id=r.id,
        athlete=r.athlete,
        athlete_id=r.athlete_id,
        state=SessionState(r.state),
        reason=r.reason,
        source=_source_adapter.validate_python(r.source),
        created_at=datetime.fromisoformat(r.created_at),
        ended_at=_dt(r.ended_at),
        duration_s=round(r.duration_s, 3),
        placements=list(r.placements),
        sensors=_sensors(r.sensors),
        live=SessionState(r.state) in LIVE_STATES,
        calibrated=None,
        set=r.last_set,
        rep_count=r.rep_count,
        cue_count=r.cue_count,
    )


def _public(ref: SessionRef) -> SessionPublic:
    if ref.live is not None:
        return _live_public(ref.live)
    assert ref.row is not None  # noqa: S101 - SessionRef holds one or the other
    return _stored_public(ref.row)


@router.post(
    "",
    status_code=201,
    summary="Start a session",
    responses=errors(400, 401, 422, 429),
)
async def create_session(
    body: SessionCreate, manager: ManagerDep, response: Response
) -> SessionCreated:
    """Create a session for an athlete (created on first use) and start it.

    Watch it on ``WS /api/sessions/{id}/live``.
    """
    spec = body.source.model_dump(exclude_none=True)
    session = await manager.create(body.athlete, spec)
    response.headers["Location"] = f"/api/sessions/{session.id}"
    return SessionCreated(id=session.id)


@router.get("", summary="List sessions", responses=AUTH_RESPONSES)
async def list_sessions(
    store: StoreDep,
    manager: ManagerDep,
    athlete: Annotated[
        str | None, Query(max_length=100, description="Only this athlete's (exact name).")
    ] = None,
) -> SessionListPublic:
    """Every session, newest first, with its state and rep count."""
    rows = await asyncio.to_thread(store.list_sessions, athlete)
    sessions = []
    for row in rows:
        live = manager.get(row.id)
        sessions.append(_live_public(live) if live is not None else _stored_public(row))
    return SessionListPublic(sessions=sessions, count=len(sessions))


@router.get("/{session_id}", summary="One session", responses=SESSION_RESPONSES)
async def get_session(ref: SessionDep) -> SessionPublic:
    """State, per-sensor counters, rep and cue counts."""
    return _public(ref)


@router.post(
    "/{session_id}/stop",
    summary="Stop a session",
    responses=errors(401, 404, 409, 422),
)
async def stop_session(ref: SessionDep, manager: ManagerDep, store: StoreDep) -> SessionPublic:
    """Stop streaming, finish the last rep and store the summary; answers the ended session."""
    await manager.stop(ref.id)
    row = await asyncio.to_thread(store.get_session, ref.id)
    if row is None:  # deleted meanwhile
        return _public(ref)
    return _stored_public(row)


@router.delete(
    "/{session_id}", status_code=204, summary="Delete a session", responses=SESSION_RESPONSES
)
async def delete_session(ref: SessionDep, manager: ManagerDep) -> None:
    """Delete the session and all its data (stopping it first if it runs)."""
    await manager.delete(ref.id)


@router.get(
    "/{session_id}/summary",
    summary="Summary and advice",
    responses=errors(401, 404, 409, 422),
)
async def get_summary(ref: SessionDep, store: StoreDep) -> SummaryPublic:
    """Per set and per session: faults, trends, asymmetry, advice.

    While the session runs: the summary so far (``final: false``).
    """
    live = ref.live
    if live is not None and live.live:
        doc = live.summary_so_far()
        return SummaryPublic.model_validate(
            {
                **doc,
                "session_id": live.id,
                "athlete": live.athlete,
                "state": live.state,
                "final": False,
                "computed_from": "live",
            }
        )
    row = ref.row or await asyncio.to_thread(store.get_session, ref.id)
    stored = await asyncio.to_thread(store.summary, ref.id)
    if row is None or stored is None:
        state = row.state if row is not None else "unknown"
        raise SessionStateError(ref.id, state, "no summary is stored for it")
    return SummaryPublic.model_validate(
        {
            **stored.data,
            "session_id": row.id,
            "athlete": row.athlete,
            "state": row.state,
            "final": True,
            "computed_from": stored.computed_from,
        }
    )


async def _settled(ref: SessionRef, store: Store) -> None:
    # A live session's writes are queued: wait until they are committed.
    if ref.live is not None:
        await store.barrier()


@router.get(
    "/{session_id}/reps.csv",
    summary="reps.csv",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def reps_csv(ref: SessionDep, store: StoreDep) -> CsvResponse:
    """One row per rep: the reps.csv columns (units in the headers)."""
    await _settled(ref, store)
    reps = await asyncio.to_thread(store.reps, ref.id)
    return csv_response(reps_csv_text(reps), f"squatsense-{ref.id}-reps.csv")


@router.get(
    "/{session_id}/angles.csv",
    summary="angles.csv",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def angles_csv(ref: SessionDep, store: StoreDep) -> CsvResponse:
    """``time_s`` and the six angles in degrees, at the processing grid rate (100 Hz)."""
    await _settled(ref, store)
    text = await asyncio.to_thread(angles_csv_text, store, ref.id)
    return csv_response(text, f"squatsense-{ref.id}-angles.csv")


@router.get(
    "/{session_id}/raw.csv",
    summary="raw.csv (recording CSV)",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def raw_csv(ref: SessionDep, store: StoreDep) -> CsvResponse:
    """Every sample received, in the recording CSV format.

    Columns ``time_s,sensor,acc_x..acc_z`` (m/s²), ``gyr_x..gyr_z`` (deg/s).
    """
    await _settled(ref, store)
    text = await asyncio.to_thread(raw_csv_text, store, ref.id)
    return csv_response(text, f"squatsense-{ref.id}-raw.csv")
