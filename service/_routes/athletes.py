"""``/api/athletes``: the athletes, and a coach's CSV of all of an athlete's reps."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path

from service._csv import coach_csv_text
from service._errors import AthleteNotFound
from service._routes._common import AUTH_RESPONSES, CSV_RESPONSES, CsvResponse, csv_response
from service._schemas import AthleteListPublic, AthletePublic
from service.deps import Authorized, StoreDep

router = APIRouter(prefix="/api/athletes", tags=["athletes"], dependencies=[Authorized])


@router.get("", summary="List athletes", responses=AUTH_RESPONSES)
async def list_athletes(store: StoreDep) -> AthleteListPublic:
    """Every athlete, by name, with their number of sessions."""
    rows = await asyncio.to_thread(store.list_athletes)
    return AthleteListPublic(
        athletes=[
            AthletePublic(
                id=r.id,
                name=r.name,
                created_at=datetime.fromisoformat(r.created_at),
                sessions=r.sessions,
            )
            for r in rows
        ]
    )


@router.get(
    "/{athlete_id}/reps.csv",
    summary="All reps of an athlete (coach CSV)",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def athlete_reps_csv(
    athlete_id: Annotated[int, Path(ge=1, le=2**62, description="The athlete's id.")],
    store: StoreDep,
) -> CsvResponse:
    """One row per rep of every session of the athlete, oldest first.

    Columns: athlete, session id, session date and start (UTC), then the reps.csv
    columns (set, rep, ...).
    """
    athlete = await asyncio.to_thread(store.get_athlete, athlete_id)
    if athlete is None:
        raise AthleteNotFound(athlete_id)
    await store.barrier()  # reps of live sessions are queued for the writer
    rows = await asyncio.to_thread(store.athlete_reps, athlete_id)
    return csv_response(coach_csv_text(rows), f"squatsense-athlete-{athlete_id}-reps.csv")
