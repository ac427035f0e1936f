"""The squatsense command: help, simulate, demo, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from ingest import read_recording
from processing import Placement
from squatsense.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "squatsense", *args], capture_output=True, text=True, timeout=300
    )


def test_help_lists_the_subcommands():
    r = run("--help")
    assert r.returncode == 0
    assert "simulate" in r.stdout and "demo" in r.stdout


def test_simulate_writes_a_readable_recording_and_truth(tmp_path):
    out, truth = tmp_path / "rec.csv", tmp_path / "truth.json"
    assert main(["simulate", "--profile", "fatigue", "--out", str(out), "--truth", str(truth)]) == 0
    rec = read_recording(out)
    assert set(rec) == set(Placement)
    doc = json.loads(truth.read_text())
    assert len(doc["reps"]) == 12
    assert len(doc["angles"]["time_s"]) == len(doc["angles"]["pelvic_tilt_deg"])
    # The recording starts with quiet standing: gravity only, ~9.81 m/s².
    still = rec[Placement.SACRUM].time_s < 2.0
    norm = np.linalg.norm(rec[Placement.SACRUM].acc_mps2[still], axis=1)
    assert abs(norm.mean() - 9.81) < 0.3


def test_list_profiles_includes_default():
    r = run("simulate", "--list-profiles")
    assert r.returncode == 0 and r.stdout.startswith("default ")


def test_bad_input_is_one_line_without_traceback(tmp_path):
    r = run("simulate", "--profile", "nope", "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "unknown profile 'nope'" in r.stderr
    r = run("simulate", "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
