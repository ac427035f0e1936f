"""Live latency of the service: from a sample entering it to its cue leaving on the WebSocket.

Starts the service in a subprocess (uvicorn, as ``squatsense serve`` runs it), then
1 and 50 simulated athletes (profile ``default``: three sets with faults, so cues
appear) in real time, each with one live WebSocket client that reads and parses every
message, starts staggered over a few seconds. At the end it reads ``GET /api/metrics``,
where the service measured, per message, the time from the newest sample of the batch
that produced it entering the service (its arrival time on the paced session clock) to
the message being handed to the client's socket; and the time spent in
``SessionProcessor.feed`` per batch. Prints a markdown table for docs/performance.md.

    .venv/bin/python benchmarks/live_latency.py                  # 1 and 50 athletes
    .venv/bin/python benchmarks/live_latency.py --athletes 1,10,50 --duration 100

The athletes' sensor streams are the simulator's (decoded, loss-counted and
clock-mapped like real BLE notifications); the simulation itself (~2 s of CPU per
athlete) is done once before serving, so the figures are the service's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "benchmark-token"


# ----------------------------------------------------------------------------- server


def serve_main(data: str, batching: bool) -> None:
    """The server process: simulate once, then serve with simulated sources reusing it."""
    from pydantic import SecretStr

    from ingest import SimulatedSource, open_source
    from service import Settings, serve
    from simulator import SimulationConfig, simulate

    session = simulate(SimulationConfig(profile="default", seed=0))
    cls = _batching_source_class() if batching else SimulatedSource

    def factory(spec):
        source = open_source(spec)  # the spec is validated as always
        if isinstance(source, SimulatedSource):
            return cls(session=session, speed=source.speed, duration_s=source.duration_s)
        return source

    settings = Settings(data_dir=Path(data), port=0, token=SecretStr(TOKEN))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(
            serve(
                settings,
                announce=lambda s: print(s, flush=True),
                log_level="warning",
                source_factory=factory,
            )
        )
    except KeyboardInterrupt:
        pass


def _batching_source_class():
    """SimulatedSource that decodes what is due in one call when it falls behind.

    ingest's SimulatedSource decodes every notification on its own when paced (one
    ``decode_frames`` call, ~0.3 ms, per notification), even when it is late; a
    BleSource's consumer decodes whatever queued up meanwhile. This variant
    (``--batching``) behaves like the latter, to separate the service's own cost from
    that of the simulated sensors. It uses ingest internals: a benchmark-only experiment.
    """
    from ingest import SimulatedSource
    from ingest._source import RecordPlayer

    class BatchingSimulatedSource(SimulatedSource):
        async def _run(self) -> None:
            session = self.session
            self._t0_ns = time.monotonic_ns()
            player = RecordPlayer(self, time_base_ns=0)
            start = time.monotonic()
            for record in self._records(session):
                wait = start + player.session_ns(record) * 1e-9 / self.speed - time.monotonic()
                if wait > 0.002:  # on time: hand over what is due, then sleep
                    await self._emit(player.flush())
                    await asyncio.sleep(wait)
                await self._emit(player.add(record))
                if player.should_flush():
                    await self._emit(player.flush())
            await self._emit(player.flush())

    return BatchingSimulatedSource


# ----------------------------------------------------------------------------- client


@dataclass
class Run:
    athletes: int
    metrics: dict = field(default_factory=dict)
    received: dict = field(default_factory=dict)
    closes: dict = field(default_factory=dict)
    cpu_s: float = 0.0
    wall_s: float = 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def athlete(i: int, base: str, duration_s: float, stagger_s: float, run: Run) -> None:
    import httpx
    from websockets.asyncio.client import connect

    await asyncio.sleep(i * stagger_s)
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as http:
        body = {
            "athlete": f"athlete {i:02d}",
            "source": {
                "kind": "simulated",
                "profile": "default",
                "speed": 1.0,
                "duration_s": duration_s,
            },
        }
        r = await http.post(
            "/api/sessions", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        r.raise_for_status()
        sid = r.json()["id"]
    url = base.replace("http", "ws", 1) + f"/api/sessions/{sid}/live?token={TOKEN}"
    async with connect(url, proxy=None, max_size=None) as ws:
        async for raw in ws:
            kind = json.loads(raw)["type"]
            run.received[kind] = run.received.get(kind, 0) + 1
    key = f"{ws.close_code} {ws.close_reason}"
    run.closes[key] = run.closes.get(key, 0) + 1


async def drive(base: str, n: int, duration_s: float, stagger_s: float, pid: int) -> Run:
    import httpx

    run = Run(n)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.gather(*(athlete(i, base, duration_s, stagger_s, run) for i in range(n)))
    run.wall_s = time.monotonic() - t0
    run.cpu_s = cpu_seconds(pid) - cpu0
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        r = await http.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        run.metrics = r.json()
    return run


def one_run(n: int, duration_s: float, stagger_s: float, batching: bool) -> Run:
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", data, *(["--batching"] if batching else [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert proc.stdout is not None
            base = None
            for line in proc.stdout:
                m = re.search(r"serving on (http://\S+)", line)
                if m:
                    base = m.group(1)
                    break
            if base is None:
                raise RuntimeError("the server did not start")
            return asyncio.run(drive(base, n, duration_s, stagger_s, proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            assert proc.stdout is not None
            proc.stdout.close()


def fmt(d: dict, key: str) -> str:
    v = d.get(key)
    return "–" if v is None else f"{v:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", default="1,50", help="comma-separated counts (default 1,50)")
    ap.add_argument("--duration", type=float, default=159.0, help="session time, s (default: all)")
    ap.add_argument("--stagger", type=float, default=0.2, help="s between athletes' starts")
    ap.add_argument(
        "--batching",
        action="store_true",
        help="simulated sensors decode what is due in one call when late (as BLE does)",
    )
    ap.add_argument("--serve", metavar="DATA", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_main(args.serve, args.batching)
        return

    counts = [int(x) for x in args.athletes.split(",")]
    print(f"# live latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(
        f"command: .venv/bin/python benchmarks/live_latency.py --athletes {args.athletes} "
        f"--duration {args.duration:g} --stagger {args.stagger:g}"
        + (" --batching" if args.batching else "")
    )
    print()
    print(
        "| athletes | cues | cue p50 / p99 ms | rep p50 / p99 ms | bottom p50 / p99 ms "
        "| angles p50 / p99 ms | step p50 / p99 ms | server CPU | frames dropped | closes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in counts:
        run = one_run(n, args.duration, args.stagger, args.batching)
        lat, step = run.metrics["latency"], run.metrics["processing"]
        cells = [
            str(n),
            str(lat["cue"]["count"]),
            *(
                f"{fmt(lat[k], 'p50_ms')} / {fmt(lat[k], 'p99_ms')}"
                for k in ("cue", "rep", "bottom", "angles")
            ),
            f"{fmt(step, 'p50_ms')} / {fmt(step, 'p99_ms')}",
            f"{100 * run.cpu_s / run.wall_s:.0f} % of a core",
            str(run.metrics["angle_frames_dropped"]),
            ", ".join(f"{v}× {k}" for k, v in run.closes.items()),
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
        print(
            f"<!-- {n} athletes: received {run.received}; max ms "
            f"{ {k: v['max_ms'] for k, v in lat.items()} } -->",
            flush=True,
        )


if __name__ == "__main__":
    main()
