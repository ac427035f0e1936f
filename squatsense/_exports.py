"""CSV and JSON exports shared by ``squatsense analyze`` and the service.

Column names carry their units (``_deg``, ``_s``). Text that came from a user (an
athlete's name, a note) is neutralised before it reaches a spreadsheet: a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be taken for a
formula (CSV injection), so it gets a leading apostrophe. Numbers are written as
numbers; NaN (no value: no lumbar sensor, a gap) as an empty cell.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from processing import ANGLE_COLUMNS, REP_COLUMNS, RepMetrics

#: Columns of reps.csv after the fixed ones: what a coach may also want.
REP_EXTRA_COLUMNS: tuple[str, ...] = ("depth_deg", "butt_wink_onset_depth_deg", "has_gap")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Neutralise user text that a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if not math.isfinite(value) else round(float(value), 4)
    if isinstance(value, str):
        return safe_text(value)
    return value


def rows_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """CSV text of dict rows in the given column order (missing keys are empty)."""
    out = io.StringIO()
    frame = pd.DataFrame(
        [[_cell(r.get(c)) for c in columns] for r in rows], columns=list(columns), dtype=object
    )
    frame.to_csv(out, index=False, lineterminator="\n")
    return out.getvalue()


def reps_csv(reps: Sequence[RepMetrics]) -> str:
    """reps.csv: the ``REP_COLUMNS`` exactly, then ``REP_EXTRA_COLUMNS``."""
    return rows_csv((*REP_COLUMNS, *REP_EXTRA_COLUMNS), (r.csv_row() for r in reps))


def angles_csv(time_s: np.ndarray, angles_deg: Mapping[str, np.ndarray]) -> str:
    """angles.csv: ``time_s`` then the six angles (deg), one row per grid point.

    Values are rounded to 0.001 (s and deg) and NaN is written as an empty cell. An hour
    at 100 Hz is 360 000 rows: pyarrow's C++ writer does it ~7x faster than pandas'
    ``float_format`` path, which formats every value in Python.
    """
    columns = {"time_s": np.round(np.asarray(time_s, dtype=np.float64), 3)}
    for c in ANGLE_COLUMNS:
        columns[c] = np.round(np.asarray(angles_deg[c], dtype=np.float64), 3) + 0.0  # no -0
    table = pa.table({k: pa.array(v, from_pandas=True) for k, v in columns.items()})
    out = io.BytesIO()
    out.write((",".join(columns) + "\n").encode())
    pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return out.getvalue().decode()
