"""Offline throughput of ``squatsense analyze`` on one hour of 4-sensor 100 Hz data.

The hour is the ``default`` simulated session (160 s, 24 reps) tiled 23 times on one
continuous clock (simulating an hour at the model's 1 kHz would need ~1.5 GB). Reports
x real time (median of --runs), a per-stage breakdown, and, in the same run, a
straightforward reference pipeline built from the same libraries: VQF's per-sample
``update()`` and per-sample Python loops for angles and rep detection.

    .venv/bin/python benchmarks/throughput.py --runs 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import processing._pipeline as pipeline  # noqa: E402
from ingest import write_recording  # noqa: E402
from processing import ImuSamples, Placement, ProcessingParams, SessionProcessor  # noqa: E402
from simulator import SimulationConfig, simulate  # noqa: E402
from squatsense._analyze import run_analyze  # noqa: E402

HOUR_S = 3600.0


def hour_recording() -> dict[Placement, ImuSamples]:
    """One hour of 4-sensor 100 Hz data (tiles of the default simulated session)."""
    rec = simulate(SimulationConfig()).recording()
    tile_s = max(float(s.time_s[-1]) for s in rec.values()) + 0.05
    n = int(np.ceil(HOUR_S / tile_s))
    out = {}
    for p, s in rec.items():
        t = np.concatenate([s.time_s + i * tile_s for i in range(n)])
        keep = t < HOUR_S
        out[p] = ImuSamples(
            t[keep], np.tile(s.acc_mps2, (n, 1))[keep], np.tile(s.gyr_rps, (n, 1))[keep]
        )
    return out


class StageTimer:
    """Accumulate wall time spent in each stage of the pipeline (by wrapping methods)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, owner: object, name: str, stage: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

        setattr(owner, name, timed)


def run_stages(csv_path: Path, out_dir: Path) -> dict[str, float]:
    """One analyze run with the time of every stage."""
    timer = StageTimer()
    import processing._calibration as cal
    import processing._orientation as ori
    import processing._reps as reps
    import processing._timebase as tb
    import squatsense._analyze as ana

    saved = [
        (tb.GridResampler, "pull"),
        (ori.OrientationTracker, "update"),
        (cal.Calibrator, "update"),
        (pipeline, "angles_from"),
        (reps.RepTracker, "update"),
        (ana, "read_recording"),
        (ana, "reps_csv"),
        (ana, "angles_csv"),
    ]
    originals = [(o, n, getattr(o, n)) for o, n in saved]
    for (o, n), stage in zip(
        saved,
        [
            "grid resampling",
            "fusion (VQF)",
            "calibration",
            "angles",
            "reps/cues",
            "CSV parse",
            "write reps.csv",
            "write angles.csv",
        ],
        strict=True,
    ):
        timer.wrap(o, n, stage)
    try:
        t0 = time.perf_counter()
        run_analyze(csv_path, out_dir, progress=False)
        total = time.perf_counter() - t0
    finally:
        for o, n, f in originals:
            setattr(o, n, f)
    timer.seconds["total"] = total
    return timer.seconds


def reference_pipeline(rec: dict[Placement, ImuSamples]) -> tuple[float, int]:
    """The straightforward way: per-sample VQF.update and per-sample Python loops.

    Same grid, same filter, same angle definitions and a plain rep state machine, fed one
    sample at a time. Uses the calibration the fast path found (not part of the timing).
    """
    from vqf import VQF

    params = ProcessingParams()
    proc = SessionProcessor(list(rec))
    for p, s in rec.items():
        proc.feed(
            p,
            ImuSamples(
                s.time_s[s.time_s < 60], s.acc_mps2[s.time_s < 60], s.gyr_rps[s.time_s < 60]
            ),
        )
    cal = proc._calibrator.calibration  # noqa: SLF001 - benchmark only
    grid = pipeline.GridResampler(list(rec), params.fs_hz, params.max_gap_s)
    for p, s in rec.items():
        grid.push(p, s)
    chunk = grid.pull(final=True)
    t0 = time.perf_counter()
    filters = {p: VQF(1 / params.fs_hz, biasClip=params.gyr_bias_clip_dps) for p in rec}
    n = len(chunk)
    depth_state, reps, peak = "stand", 0, 0.0
    for i in range(n):
        incl = {}
        for p, f in filters.items():
            g, a = chunk.gyr_rps[p][i], chunk.acc_mps2[p][i]
            if not (np.all(np.isfinite(g)) and np.all(np.isfinite(a))):
                continue
            f.update(np.ascontiguousarray(g), np.ascontiguousarray(a))
            w, x, y, z = f.getQuat6D()
            c = cal[p]
            q = np.array([[x, y, z, w]])
            incl[p] = np.rad2deg(_numpy_inclination(q, c.vertical, c.flexion_axis))
        d = 0.5 * (incl.get(Placement.SHIN_LEFT, 0.0) + incl.get(Placement.SHIN_RIGHT, 0.0))
        if depth_state == "stand" and d > params.rep_start_deg:
            depth_state, peak = "down", d
        elif depth_state == "down":
            peak = max(peak, d)
            if d <= params.rep_rest_deg:
                reps += peak >= params.rep_min_depth_deg
                depth_state = "stand"
    return time.perf_counter() - t0, reps


def _numpy_inclination(q, vertical, axis) -> float:
    """Inclination (rad) with numpy, as a straightforward pipeline computes it.

    The formula of ``processing.segment_angles_rad`` (docs/conventions.md), written
    with numpy arrays: the reference stays the one measured since the start, while
    the core's own version is now a compiled loop.
    """
    from processing._orientation import quat_rotate

    v = quat_rotate(q, vertical)
    a = quat_rotate(q, axis)
    a[:, 2] = 0.0
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    a = np.divide(a, norm, out=np.full_like(a, np.nan), where=norm > 1e-6)
    forward = v[:, 0] * a[:, 1] - v[:, 1] * a[:, 0]
    return float(np.arctan2(forward, v[:, 2])[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-reference", action="store_true")
    a = ap.parse_args()
    rec = hour_recording()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "hour.csv"
        write_recording(csv_path, rec)
        rows = sum(len(s) for s in rec.values())
        runs = [run_stages(csv_path, Path(tmp) / f"out{i}") for i in range(a.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"<!-- {platform.machine()}, {platform.python_version()}, {a.runs} runs, "
        f"{rows} rows ({rows / HOUR_S:.0f} samples/s of session) -->"
    )
    print("| stage | median s per hour of data | share |")
    print("|---|---|---|")
    for k, v in sorted(med.items(), key=lambda kv: -kv[1]):
        if k != "total":
            print(f"| {k} | {v:.3f} | {100 * v / med['total']:.0f} % |")
    print(f"| **total** (`squatsense analyze`) | **{med['total']:.3f}** | |")
    print()
    each = ", ".join(f"{HOUR_S / r['total']:.0f}x" for r in runs)
    print(
        f"Throughput: **{HOUR_S / med['total']:.0f}x real time** (median of {a.runs}; runs {each})."
    )
    if not a.skip_reference:
        # Processing only, both ways, on the same grid data.
        fast = statistics.median(
            r["fusion (VQF)"] + r["angles"] + r["reps/cues"] + r["calibration"] for r in runs
        )
        ref_s, ref_reps = reference_pipeline(rec)
        print(
            f"Reference per-sample pipeline (fusion + angles + reps only): {ref_s:.1f} s "
            f"per hour ({HOUR_S / ref_s:.0f}x real time, {ref_reps} reps); squatsense's "
            f"fusion + calibration + angles + reps/cues (calibration too, which the "
            f"reference is handed): {fast:.3f} s -> **{ref_s / fast:.0f}x faster**."
        )


if __name__ == "__main__":
    main()
