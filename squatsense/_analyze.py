"""``squatsense analyze``: a recording CSV in, reps.csv, angles.csv and summary.json out.

The recording goes through the same streaming code a live session uses
(:class:`processing.SessionProcessor`), fed in pieces of a few seconds with the sensors
interleaved, exactly as samples would arrive.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ingest import read_recording
from processing import (
    ImuSamples,
    Placement,
    ProcessingParams,
    SessionProcessor,
    collect,
    summarize,
)
from squatsense._exports import angles_csv, reps_csv

#: Seconds of recording fed per step (the progress bar moves per step).
CHUNK_S = 10.0


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total_s: float, enabled: bool) -> None:
        self.total_s = max(total_s, 1e-9)
        self.enabled = enabled
        self._last = 0.0

    def update(self, done_s: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done_s < self.total_s):
            return
        self._last = now
        frac = min(done_s / self.total_s, 1.0)
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\ranalyzing [{bar:<30s}] {100 * frac:5.1f} %  {done_s:7.0f} s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def run_analyze(
    recording_path: str | Path,
    out_dir: str | Path,
    *,
    params: ProcessingParams | None = None,
    progress: bool | None = None,
) -> dict[str, object]:
    """Analyse a recording and write the outputs; return what ``summary.json`` holds."""
    recording = read_recording(recording_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = params or ProcessingParams()
    proc = SessionProcessor(list(recording), params)
    end_s = max(float(s.time_s[-1]) for s in recording.values() if len(s))
    bar = _Progress(end_s, sys.stderr.isatty() if progress is None else progress)
    events = []
    edges = np.arange(0.0, end_s + CHUNK_S, CHUNK_S)
    cursor = dict.fromkeys(recording, 0)
    for hi in edges[1:]:
        for p, s in recording.items():
            j = int(np.searchsorted(s.time_s, hi))
            i = cursor[p]
            if j > i:
                events += proc.feed(p, ImuSamples(s.time_s[i:j], s.acc_mps2[i:j], s.gyr_rps[i:j]))
                cursor[p] = j
        bar.update(float(hi))
    events += proc.finish()
    bar.close()
    result = collect(events)
    has_lumbar = Placement.LUMBAR in recording
    summary = summarize(result.reps, result.cues, has_lumbar=has_lumbar)
    (out / "reps.csv").write_text(reps_csv(result.reps))
    (out / "angles.csv").write_text(angles_csv(result.time_s, result.angles_deg))
    doc: dict[str, object] = {
        "recording": str(recording_path),
        "duration_s": round(end_s, 3),
        "sensors": [p.value for p in recording],
        **summary.to_dict(),
        "cues": [c.to_dict() for c in result.cues],
        "calibration": [e.to_dict() for e in result.status],
        "params": asdict(params),
    }
    (out / "summary.json").write_text(json.dumps(doc, indent=2))
    return doc
