"""Memory of one athlete over a 2-hour session, through the whole service path.

Starts the service in a subprocess (as ``squatsense serve`` runs it) and one session
whose source plays 2 hours of 4-sensor 100 Hz notifications at --speed times real
time: the default simulated session (160 s, 24 reps) repeated end to end, each repeat's
frames re-stamped so that counters, sensor clocks and arrival times run on without a
break, generated as they are played (the source holds one repeat at a time). Every
notification goes through ingest (decode, loss count, clock mapping), processing, the
database and, as angle frames, reps and cues, to one live WebSocket client. The
server's resident memory (VmRSS) is sampled every 2 s of wall time against the
session's own clock; a flat line (a slope near 0 MB/h over the second hour) means no
growth. The simulation the source replays is made before the server starts serving, so
the memory it takes counts as "before the session".

    .venv/bin/python benchmarks/memory.py                  # 2 h at 20x: ~6 min
    .venv/bin/python benchmarks/memory.py --hours 0.5 --speed 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import struct
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from _server import serving

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "benchmark-token"


# ----------------------------------------------------------------------------- server


_BASE = None


def base_session():
    """The default simulated session and its notifications (simulated once)."""
    global _BASE
    from simulator import LinkParams, SimulationConfig, merged_notifications, simulate

    if _BASE is None:
        session = simulate(SimulationConfig(profile="default", seed=0))
        _BASE = (session, *merged_notifications(session, LinkParams(att_mtu=247), 0))
    return _BASE


def long_source(spec, hours: float):
    """A simulated source that plays the default session repeated for `hours`."""
    from firmware_protocol import Record, RecordKind
    from ingest import SimulatedSource, open_source
    from ingest._channel import placement_code
    from ingest._simulated import play_records
    from ingest._source import RecordPlayer

    source = open_source(spec)
    if not isinstance(source, SimulatedSource):
        return source
    session, sensors, notes = base_session()
    period_us = {p: s.info.period_us for p, s in sensors.items()}
    infos = [
        Record(RecordKind.INFO, s.info_bytes, placement_code(p), 0) for p, s in sensors.items()
    ]
    # One repeat: as compact arrays (host ns, channel, counter, sensor µs) plus payloads.
    host_ns = np.array([round(n.host_time_s * 1e9) for n in notes], dtype=np.int64)
    codes = [placement_code(n.placement) for n in notes]
    payloads = [n.payload for n in notes]
    heads = [struct.unpack_from("<HI", p, 2) for p in payloads]
    # Counters and sensor clocks run on across repeats: each sensor's next repeat starts
    # one period after its last sample.
    span_samples = {}
    for n, (c0, _) in zip(notes, heads, strict=True):
        span_samples[n.placement] = max(span_samples.get(n.placement, 0), c0 + n.n_samples)
    tile = max(span_samples.values())
    tile_ns = round(tile * 1e9 / 100.0)
    end_ns = round(hours * 3600e9)

    def records():
        yield from infos
        k = 0
        while True:
            shift_ns = k * tile_ns
            for h, code, p, (c0, t0), note in zip(
                host_ns, codes, payloads, heads, notes, strict=True
            ):
                host = int(h) + shift_ns
                if host > end_ns:
                    return
                if k:
                    c = (c0 + k * tile) % 65536
                    t = (t0 + k * tile * period_us[note.placement]) % (1 << 32)
                    p = p[:2] + struct.pack("<HI", c, t) + p[8:]
                yield Record(RecordKind.FRAME, p, code, host)
            k += 1

    class LongSource(SimulatedSource):
        async def _run(self) -> None:
            self._t0_ns = time.monotonic_ns()
            await play_records(self, records(), RecordPlayer(self, time_base_ns=0), self.speed)

    return LongSource(session=session, speed=source.speed)


def serve_main(data: str, hours: float) -> None:
    import functools

    from pydantic import SecretStr

    from service import Settings, serve
    from service._loop import run as run_loop

    base_session()  # before serving: what the benchmark's source replays is not the service's
    settings = Settings(data_dir=Path(data), port=0, token=SecretStr(TOKEN))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_loop(
            serve(
                settings,
                announce=lambda s: print(s, flush=True),
                log_level="warning",
                source_factory=functools.partial(long_source, hours=hours),
            )
        )
    except KeyboardInterrupt:
        pass


# ----------------------------------------------------------------------------- client


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(base: str, pid: int, speed: float, data: Path) -> tuple[list, dict, dict]:
    import httpx
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"Bearer {TOKEN}"}
    samples: list[tuple[float, float, float, float]] = []  # wall s, session s, RSS MB, DB MB
    received: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as http:
        idle = rss_mb(pid)
        body = {"athlete": "Ada", "source": {"kind": "simulated", "speed": speed}}
        r = await http.post("/api/sessions", json=body, headers=headers)
        r.raise_for_status()
        sid = r.json()["id"]
        t0 = time.monotonic()

        async def listen() -> None:
            url = base.replace("http", "ws", 1) + f"/api/sessions/{sid}/live?token={TOKEN}"
            async with connect(url, proxy=None, max_size=None) as ws:
                async for raw in ws:
                    kind = json.loads(raw)["type"]
                    received[kind] = received.get(kind, 0) + 1

        listener = asyncio.ensure_future(listen())
        while not listener.done():
            doc = (await http.get(f"/api/sessions/{sid}", headers=headers)).json()
            db = sum(f.stat().st_size for f in data.glob("squatsense.sqlite3*")) / 2**20
            samples.append((time.monotonic() - t0, doc["duration_s"], rss_mb(pid), db))
            if not doc["live"]:
                break
            await asyncio.sleep(2.0)
        await listener
        doc = (await http.get(f"/api/sessions/{sid}", headers=headers)).json()
    return samples, {"idle_mb": idle, **doc}, received


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0, help="session length (default 2 h)")
    ap.add_argument("--speed", type=float, default=20.0, help="x real time (default 20)")
    ap.add_argument("--serve", metavar="DATA", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (args.hours * 60 > 20 and args.speed > 0):
        ap.error("--hours must cover more than 20 min (RSS is read from 10 min on) and --speed > 0")
    if args.serve:
        serve_main(args.serve, args.hours)
        return
    with tempfile.TemporaryDirectory() as data:
        args_ = ["--serve", data, "--hours", str(args.hours)]
        with serving(__file__, args_) as (proc, base):
            samples, doc, received = asyncio.run(drive(base, proc.pid, args.speed, Path(data)))

    s = np.array(samples)
    wall, t, rss, db = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
    print(f"# memory over a {args.hours:g} h session, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; command: .venv/bin/python benchmarks/memory.py "
        f"--hours {args.hours:g} --speed {args.speed:g}"
    )
    print()
    print("| session time | server RSS MB | database MB |")
    print("|---|---|---|")
    print(f"| before the session | {doc['idle_mb']:.0f} | – |")
    step_s = max(600.0, args.hours * 3600 / 12)
    for mark in np.arange(step_s, t.max() + 1, step_s):
        i = int(np.searchsorted(t, mark))
        if i < len(t):
            print(f"| {t[i] / 60:.0f} min | {rss[i]:.0f} | {db[i]:.0f} |")
    print(f"| end ({t.max() / 60:.0f} min) | {rss[-1]:.0f} | {db[-1]:.0f} |")
    print()
    second_half = t >= t.max() / 2
    slope = np.polyfit(t[second_half] / 3600, rss[second_half], 1)[0]
    first = t >= 600
    print(
        f"RSS from 10 min on: min {rss[first].min():.0f} MB, max {rss[first].max():.0f} MB; "
        f"slope over the second half: {slope:+.1f} MB per hour of session. "
        f"Peak {rss.max():.0f} MB. {wall.max() / 60:.1f} min of wall time."
    )
    print(
        f"Session: {doc['state']} ({doc['reason']}), {doc['duration_s'] / 3600:.2f} h, "
        f"{doc['rep_count']} reps, {doc['cue_count']} cues; the client received {received}."
    )


if __name__ == "__main__":
    main()
