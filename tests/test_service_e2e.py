"""End to end against a real uvicorn server (a subprocess on a free port).

A session over HTTP and the live WebSocket, its exports, a restart that finds it all
again; a server killed with SIGKILL mid-session, whose session comes back interrupted
with its data up to the last second.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


class Server:
    """``squatsense serve --port 0`` in a subprocess; its output is collected."""

    def __init__(self, data: Path, token: str | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SQUATSENSE_")}
        if token is not None:
            env["SQUATSENSE_TOKEN"] = token
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "squatsense", "serve", "--port", "0", "--data", str(data)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60):
            self.stop(signal.SIGKILL)
            raise AssertionError("server did not start:\n" + self.output)
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.output)
        assert m, self.output
        self.url = m.group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "serving on" in line:
                self._ready.set()
        self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(30)
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


def api(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=60,
    )


def start_session(http: httpx.Client, speed: float) -> str:
    body = {"athlete": "Ada", "source": {"kind": "simulated", "profile": "default", "speed": speed}}
    r = http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def exports(http: httpx.Client, sid: str) -> dict[str, str]:
    out = {}
    for name in ("summary", "reps.csv", "angles.csv", "raw.csv"):
        r = http.get(f"/api/sessions/{sid}/{name}")
        assert r.status_code == 200, (name, r.text)
        out[name] = r.text
    athlete = http.get(f"/api/sessions/{sid}").json()["athlete_id"]
    out["coach"] = http.get(f"/api/athletes/{athlete}/reps.csv").text
    return out


def last_time(raw_csv: str) -> float:
    return max(float(row["time_s"]) for row in csv.DictReader(io.StringIO(raw_csv)))


@pytest.mark.timeout(180)
def test_a_live_session_over_a_real_server_and_everything_after_a_restart(tmp_path):
    data = tmp_path / "data"
    server = Server(data)  # no SQUATSENSE_TOKEN: one is generated, stored, printed once
    try:
        token = (data / "token").read_text().strip()
        assert server.output.count(token) == 1 and "shown once" in server.output
        assert f"event loop: {'uvloop' if HAVE_UVLOOP else 'asyncio'})" in server.output
        with api(server, token) as http:
            sid = start_session(http, speed=4.0)
            seen: dict[str, int] = {}
            angle_t: list[float] = []
            ws_url = server.url.replace("http", "ws") + f"/api/sessions/{sid}/live?token={token}"
            with connect(ws_url, proxy=None, max_size=None) as ws:
                first = json.loads(ws.recv(timeout=30))
                assert (first["type"], first["event"]) == ("status", "snapshot")
                stopped = False
                for raw in ws:
                    m = json.loads(raw)
                    seen[m["type"]] = seen.get(m["type"], 0) + 1
                    if m["type"] == "angles":
                        # A frame carries every angle sample due since the last one.
                        assert len(m["pelvic_tilt_deg"]) == len(m["time_s"])
                        angle_t += m["time_s"]
                    if not stopped and {"angles", "bottom", "rep", "cue"} <= set(seen):
                        r = http.post(f"/api/sessions/{sid}/stop")
                        assert r.status_code == 200 and r.json()["state"] == "finished"
                        stopped = True
                    last = m
                assert stopped, seen
                assert ws.close_code == 1000 and ws.close_reason == "session ended"
            assert (last["type"], last["event"], last["state"]) == ("status", "state", "finished")
            assert seen["sensor"] >= 4
            # Angles at >= 20 Hz of session time, from calibration on (the first two squats
            # are held back until the axes are known, then released together).
            span_s = angle_t[-1] - angle_t[0]
            assert span_s > 5.0 and len(angle_t) / span_s >= 20.0, (len(angle_t), span_s)
            session = http.get(f"/api/sessions/{sid}").json()
            assert session["reason"] == "stopped by request" and session["rep_count"] >= 2
            before = exports(http, sid)
        assert json.loads(before["summary"])["final"] is True
        assert server.stop() == 0
        # The token was printed once, on the first start, and never logged: the
        # WebSocket handshake line shows the query redacted.
        assert server.output.count(token) == 1 and "token=***" in server.output

        again = Server(data)
        try:
            assert token not in again.output
            with api(again, token) as http:
                listed = http.get("/api/sessions", params={"athlete": "Ada"}).json()
                assert [s["id"] for s in listed["sessions"]] == [sid]
                assert http.get(f"/api/sessions/{sid}").json() == session
                assert exports(http, sid) == before
            assert again.stop(signal.SIGINT) == 0  # Ctrl-C: as cleanly as SIGTERM
            assert "squatsense: stopped" in again.output
        finally:
            again.stop()
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.timeout(180)
def test_a_server_killed_mid_session_keeps_its_data_up_to_the_last_second(tmp_path):
    data, token, speed = tmp_path / "data", "e2e-secret-token", 2.0
    server = Server(data, token)
    try:
        with api(server, token) as http:
            sid = start_session(http, speed=speed)
            deadline = time.monotonic() + 60
            received_s = 0.0
            while received_s < 16.0:  # well into set 1 (reps at ~6, ~10, ~13 s)
                assert time.monotonic() < deadline, "the session did not progress"
                time.sleep(0.2)
                received_s = http.get(f"/api/sessions/{sid}").json()["duration_s"]
        server.proc.send_signal(signal.SIGKILL)  # no shutdown, no flush
        killed_at = received_s
    finally:
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    again = Server(data, token)
    try:
        with api(again, token) as http:
            session = http.get(f"/api/sessions/{sid}").json()
            assert session["state"] == "interrupted" and not session["live"]
            assert "server stopped during the session" in session["reason"]
            out = exports(http, sid)
            # Everything received up to the last second (of wall time) before the kill.
            kept = last_time(out["raw.csv"])
            assert kept >= killed_at - speed * 1.0, (kept, killed_at)
            assert session["duration_s"] == pytest.approx(kept, abs=0.05)
            summary = json.loads(out["summary"])
            assert summary["computed_from"] == "recovered" and summary["reps"] >= 3
            assert len(list(csv.DictReader(io.StringIO(out["reps.csv"])))) == summary["reps"]
            assert len(out["angles.csv"].splitlines()) > 100 * 10
            assert http.post(f"/api/sessions/{sid}/stop").status_code == 409
    finally:
        again.stop()
