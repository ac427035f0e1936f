"""Accuracy of the processing core against the simulator's ground truth.

Runs every athlete profile at 50 and 100 Hz over several seeds (random mounting,
MPU-6050 noise and offsets, 1 % frame loss, walking/turning/bending between sets) and
prints a markdown table for docs/accuracy.md.

    .venv/bin/python benchmarks/accuracy.py --seeds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processing import CueParams, analyze  # noqa: E402
from simulator import PROFILES, SimulationConfig, simulate  # noqa: E402
from simulator._scoring import REP_METRICS, Score, score  # noqa: E402


def set_windows_only(truth, time_s, angles):
    """For strap_slip: keep only the sets (between the slip and the next quiet stand the
    sensor's new mounting cannot be known)."""
    keep = np.zeros(time_s.size, dtype=bool)
    for a, b in truth.sets:
        keep |= (time_s >= a) & (time_s < b)
    return {k: np.where(keep, v, np.nan) for k, v in angles.items()}


def run_one(args):
    profile, rate, seed = args
    s = simulate(SimulationConfig(profile=profile, fs_hz=rate, seed=seed))
    r = analyze(s.recording())
    angles = r.angles_deg
    if profile == "strap_slip":
        angles = set_windows_only(s.truth, r.time_s, angles)
    sc = score(s.truth, r.reps, r.time_s, angles, dataclasses.asdict(CueParams()))
    return profile, rate, seed, sc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    jobs = [(p, r, s) for p in PROFILES for r in (100.0, 50.0) for s in range(a.seeds)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.jobs) as ex:
        results = list(ex.map(run_one, jobs))
    elapsed = time.perf_counter() - t0
    print(
        f"<!-- {len(jobs)} runs in {elapsed:.0f} s on {platform.machine()}, "
        f"python {platform.python_version()} -->"
    )
    print(
        "| profile | rate | reps found / true | false reps | bottom max err (s) | "
        "worst per-rep MAE (deg) | worst angle RMSE, pooled (deg) | worst single run (deg) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    over = []
    pooled = Score()
    worst_rmse: dict[str, float] = {}
    for p in PROFILES:
        for rate in (100.0, 50.0):
            sub = Score()
            single = 0.0
            for prof, rr, seed, sc in results:
                if prof == p and rr == rate:
                    sub = sub.merge(sc)
                    run_max = max(sc.angle_rmse_deg.items(), key=lambda kv: kv[1])
                    single = max(single, run_max[1])
                    if run_max[1] > 2.5:
                        over.append((p, rate, seed, run_max))
            pooled = pooled.merge(sub)
            mae = sub.metric_mae()
            wm = max((v, k) for k, v in mae.items() if np.isfinite(v))
            wr = max((v, k) for k, v in sub.angle_rmse_deg.items())
            for k, v in sub.angle_rmse_deg.items():
                worst_rmse[k] = max(worst_rmse.get(k, 0.0), v)
            be = np.max(np.abs(sub.bottom_errors_s)) if sub.bottom_errors_s else float("nan")
            print(
                f"| {p} | {rate:.0f} Hz | {sub.matched}/{sub.true_reps} | {len(sub.false_reps)} | "
                f"{be:.2f} | {wm[0]:.2f} ({wm[1]}) | {wr[0]:.2f} ({wr[1]}) | {single:.2f} |"
            )
    print()
    print(f"Single runs with an angle series over 2.5 deg RMSE: {len(over)} of {len(results)}")
    for p, rate, seed, (name, v) in over:
        print(f"- {p}, {rate:.0f} Hz, seed {seed}: {name} {v:.2f} deg")
    print()
    print("Pooled over all runs:")
    print()
    print("| per-rep metric | MAE (deg) | 95th pct abs err (deg) |")
    print("|---|---|---|")
    for m in REP_METRICS:
        e = np.abs(pooled.metric_errors[m])
        print(f"| {m} | {e.mean():.2f} | {np.percentile(e, 95):.2f} |")
    print()
    print("| angle series | worst RMSE over profile/rate cells (deg) |")
    print("|---|---|")
    for k, v in worst_rmse.items():
        print(f"| {k} | {v:.2f} |")
    print()
    print("| cue | recall (clearly past) | false-alarm rate (clearly short) | n past / n short |")
    print("|---|---|---|---|")
    for code, c in sorted(pooled.cue_counts.items()):
        pos, neg = c["tp"] + c["fn"], c["fp"] + c["tn"]
        rec = f"{c['tp'] / pos:.3f}" if pos else "–"
        fa = f"{c['fp'] / neg:.3f}" if neg else "–"
        print(f"| {code} | {rec} | {fa} | {pos} / {neg} |")
    be = np.abs(pooled.bottom_errors_s)
    print()
    print(
        f"Reps: {pooled.matched} of {pooled.true_reps} found, {len(pooled.false_reps)} false; "
        f"bottom time error median {np.median(be):.3f} s, max {be.max():.3f} s."
    )


if __name__ == "__main__":
    main()
