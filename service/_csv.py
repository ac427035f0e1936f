"""CSV exports of stored sessions (blocking; run them through ``asyncio.to_thread``).

The cell rules (units in the headers, user text neutralised against spreadsheet
formulas, NaN as an empty cell) are :mod:`squatsense._exports`'; this module only
chooses the rows and columns.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ingest import write_recording
from processing import REP_COLUMNS
from service._store import SessionRow, Store
from squatsense._exports import REP_EXTRA_COLUMNS, angles_csv, rows_csv

#: Columns of the coach CSV: who and when, then exactly the reps.csv columns.
COACH_COLUMNS: tuple[str, ...] = (
    "athlete",
    "session_id",
    "session_date_utc",
    "session_start_utc",
    *REP_COLUMNS,
    *REP_EXTRA_COLUMNS,
)


def _rep_row(rep: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(rep)
    row.pop("type", None)
    cues = row.get("cues") or []
    row["cues"] = " ".join(cues) if isinstance(cues, list | tuple) else str(cues)
    return row


def reps_csv_text(reps: Sequence[Mapping[str, Any]]) -> str:
    """reps.csv of stored reps (``RepMetrics.to_dict()`` documents)."""
    return rows_csv((*REP_COLUMNS, *REP_EXTRA_COLUMNS), (_rep_row(r) for r in reps))


def angles_csv_text(store: Store, session_id: str) -> str:
    """angles.csv: ``time_s`` and the six angles (deg) at the processing grid rate."""
    time_s, angles = store.angles(session_id)
    return angles_csv(time_s, angles)


def raw_csv_text(store: Store, session_id: str) -> str:
    """raw.csv: every sample received, in the recording CSV format (gyroscope in deg/s)."""
    out = io.StringIO()
    write_recording(out, store.samples(session_id))
    return out.getvalue()


def coach_csv_text(rows: Sequence[tuple[SessionRow, Mapping[str, Any]]]) -> str:
    """All reps of an athlete, one row per rep, with the session's date and id."""
    return rows_csv(
        COACH_COLUMNS,
        (
            {
                "athlete": session.athlete,
                "session_id": session.id,
                "session_date_utc": session.created_at[:10],
                "session_start_utc": session.created_at,
                **_rep_row(rep),
            }
            for session, rep in rows
        ),
    )
