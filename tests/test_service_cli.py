"""``squatsense demo`` and ``squatsense serve`` from the command line."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUATSENSE_")}
    return subprocess.run(
        [sys.executable, "-m", "squatsense", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.timeout(180)
def test_demo_fast_runs_a_session_through_the_service_and_writes_the_exports(tmp_path):
    out = tmp_path / "out"
    r = run("demo", "--fast", "--port", "0", "--data", str(tmp_path / "data"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "live page: http://127.0.0.1:" in text and "/sessions/" in text and "/live" in text
    token = (tmp_path / "data" / "token").read_text().strip()
    assert text.count(token) == 1  # generated on this first start, printed once
    assert "set 1 rep 1:" in text and "set 3 rep 8:" in text  # reps as they happen
    assert "CUE set 2 rep 4 (butt_wink)" in text  # and cues
    assert "advice:" in text and f"wrote {out}/" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reps"] == 24 and len(summary["sets"]) == 3 and summary["final"]
    with open(out / "reps.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 24
    with open(out / "athlete-reps.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24 and rows[0]["athlete"] == "Demo athlete"
    assert (out / "angles.csv").read_text().startswith("time_s,pelvic_tilt_deg,")
    assert (out / "raw.csv").read_text().startswith("time_s,sensor,acc_x,")


def test_serve_refuses_a_database_newer_than_it_knows_in_one_line(tmp_path):
    tmp_path.joinpath("squatsense.sqlite3")
    with closing(sqlite3.connect(tmp_path / "squatsense.sqlite3")) as conn:
        conn.execute("PRAGMA user_version = 999")
    r = run("serve", "--port", "0", "--data", str(tmp_path), timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("squatsense: error: serve:") and "newer" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_serve_and_demo_are_in_the_help():
    r = run("--help")
    assert "serve" in r.stdout and "demo" in r.stdout
    r = run("serve", "--help")
    assert "--host" in r.stdout and "--port" in r.stdout and "--data" in r.stdout
