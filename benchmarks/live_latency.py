"""Live latency of the service: from a frame arriving at the host to its message leaving.

Starts the service in a subprocess (uvicorn, as ``squatsense serve`` runs it) and runs N
simulated athletes in real time (profile ``default``: four sensors at 100 Hz, three
sets with faults, so cues appear), their starts spread over a few seconds, each with
one live WebSocket client in this process that reads every message. At the end it
reads ``GET /api/metrics``, where the service measured, for every message, the time
from the host time stamp of the oldest notification behind it (frame in: when the BLE
notification reached the host, here when the simulated one was due) to the message
being handed to the client's socket, split into stages (ingest: waking up and
decoding; queue: until the processing step; processing; send). Prints markdown tables
for docs/performance.md.

    .venv/bin/python benchmarks/live_latency.py                       # 1, 10, 50, 100 athletes
    .venv/bin/python benchmarks/live_latency.py --athletes 50 --duration 60

The simulated sensors go through ingest's full path (notification bytes → decode, loss
count, clock mapping); the simulation itself (~2 s of CPU) is done once before serving,
so the figures are the service's own. Besides latency it reports the server's CPU
(user + system over the run) and resident memory (sampled every 0.5 s), per athlete,
how much ingest's decode costs per call, and whether the sessions kept up with real
time: each session ends when its simulation does, so ``end lag`` (how much later than
its duration after creation its WebSocket closed) grows when the server falls behind.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from _server import serving

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "benchmark-token"
SESSION_S = 159.0  # the default profile's whole session


# ----------------------------------------------------------------------------- server


_SESSION = None  # the simulated session, once per process
_STATS_DIR: str | None = None


def bench_source(spec, stats_dir: str, tick_s: float | None = None):
    """The sources of the benchmark (picklable: the worker processes build them too).

    Every simulated athlete replays one simulated session, simulated once per process;
    the first call in a process also starts timing ingest's decode calls and the
    garbage collector there (written to `stats_dir` when the process exits).
    """
    global _SESSION
    from ingest import SimulatedSource, SourceParams, open_source
    from simulator import SimulationConfig, simulate

    source = open_source(spec)  # the spec is validated as always
    if _STATS_DIR is None:
        _instrument(stats_dir)
    if not isinstance(source, SimulatedSource):
        return source
    if _SESSION is None:
        _SESSION = simulate(SimulationConfig(profile="default", seed=0))
    params = None if tick_s is None else SourceParams(tick_s=tick_s)
    return SimulatedSource(
        session=_SESSION, speed=source.speed, duration_s=source.duration_s, params=params
    )


def _instrument(stats_dir: str) -> None:
    """Time ingest's decode calls and the collector's pauses in this process."""
    global _STATS_DIR
    import atexit

    from ingest._channel import SensorChannel

    _STATS_DIR = stats_dir
    stats = {"calls": 0, "notifications": 0, "s": 0.0, "gc": [0, 0, 0], "gc_s": 0.0}
    stats["gc_max_s"] = 0.0
    inner = SensorChannel._process

    def timed(self, host_ns, payloads):
        t0 = time.perf_counter()
        try:
            return inner(self, host_ns, payloads)
        finally:
            stats["s"] += time.perf_counter() - t0
            stats["calls"] += 1
            stats["notifications"] += len(payloads)

    SensorChannel._process = timed
    gc_t0 = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_t0[0] = time.perf_counter()
        else:
            dt = time.perf_counter() - gc_t0[0]
            stats["gc"][info["generation"]] += 1
            stats["gc_s"] += dt
            stats["gc_max_s"] = max(stats["gc_max_s"], dt)

    gc.callbacks.append(on_gc)
    path = Path(stats_dir) / f"stats-{os.getpid()}.json"
    atexit.register(lambda: path.write_text(json.dumps(stats)))


def serve_main(data: str, workers: int, tick_s: float | None) -> None:
    """The server process."""
    from pydantic import SecretStr

    import service._metrics
    from service import Settings, serve
    from service._loop import run as run_loop

    # Every message of the run in the percentiles: the service's windows keep the newest
    # 10 000 values, only the last ~10 s of angle frames with 50 athletes.
    service._metrics.WINDOW = 100_000_000
    factory = functools.partial(bench_source, stats_dir=data, tick_s=tick_s)
    factory({"kind": "simulated"})  # simulate (and instrument) before serving
    settings = Settings(data_dir=Path(data), port=0, token=SecretStr(TOKEN), workers=workers)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_loop(
            serve(
                settings,
                announce=lambda s: print(s, flush=True),
                log_level="warning",
                source_factory=factory,
            )
        )
    except KeyboardInterrupt:
        pass


def read_stats(data: str) -> dict:
    """The decode and collector figures of every server process, added up."""
    total = {"calls": 0, "notifications": 0, "s": 0.0, "gc": [0, 0, 0], "gc_s": 0.0}
    total["gc_max_s"] = 0.0
    for path in Path(data).glob("stats-*.json"):
        st = json.loads(path.read_text())
        for k in ("calls", "notifications", "s", "gc_s"):
            total[k] += st[k]
        total["gc"] = [a + b for a, b in zip(total["gc"], st["gc"], strict=True)]
        total["gc_max_s"] = max(total["gc_max_s"], st["gc_max_s"])
    return total


# ----------------------------------------------------------------------------- client


@dataclass
class Run:
    athletes: int
    metrics: dict = field(default_factory=dict)
    received: dict = field(default_factory=dict)
    closes: dict = field(default_factory=dict)
    end_lag_s: list = field(default_factory=list)
    rss_kb: list = field(default_factory=list)
    rss_idle_kb: int = 0
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    decode: dict = field(default_factory=dict)


def tree(pid: int) -> list[int]:
    """`pid` and its child processes (the worker processes)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        out += [int(c) for c in children]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its workers, s."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """Resident memory of the server and its workers, kB."""
    total = 0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        total += next((int(x.split()[1]) for x in lines if x.startswith("VmRSS:")), 0)
    return total


def message_type(raw: str) -> str:
    # Every message starts with its type (service._messages); parse only when it does not.
    m = re.match(r'\{"type":"(\w+)"', raw)
    return m.group(1) if m else json.loads(raw)["type"]


async def athlete(i: int, base: str, duration_s: float, stagger_s: float, run: Run) -> None:
    import httpx
    from websockets.asyncio.client import connect

    await asyncio.sleep(i * stagger_s)
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=120) as http:
        body = {
            "athlete": f"athlete {i:03d}",
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
    created = time.monotonic()
    url = base.replace("http", "ws", 1) + f"/api/sessions/{sid}/live?token={TOKEN}"
    async with connect(url, proxy=None, max_size=None, open_timeout=120) as ws:
        async for raw in ws:
            kind = message_type(raw)
            run.received[kind] = run.received.get(kind, 0) + 1
    run.end_lag_s.append(time.monotonic() - created - duration_s)
    key = f"{ws.close_code} {ws.close_reason}"
    run.closes[key] = run.closes.get(key, 0) + 1


async def sample_rss(pid: int, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        run.rss_kb.append(rss_kb(pid))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


async def drive(
    base: str, n: int, duration_s: float, stagger_s: float, pid: int, workers: int
) -> Run:
    import httpx

    if workers:
        # One short session per worker first: each simulates the session it replays
        # (~2 s of CPU) when it builds its first source. Not part of the run.
        warm = Run(workers)
        await asyncio.gather(*(athlete(i, base, 1.0, 0.0, warm) for i in range(workers)))
    run = Run(n)
    run.rss_idle_kb = rss_kb(pid)
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(sample_rss(pid, run, stop))
    cpu0, client0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(athlete(i, base, duration_s, stagger_s, run) for i in range(n)))
    run.wall_s = time.monotonic() - t0
    run.cpu_s = cpu_seconds(pid) - cpu0
    run.client_cpu_s = time.process_time() - client0
    stop.set()
    await sampler
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        r = await http.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        run.metrics = r.json()
    return run


def one_run(n: int, duration_s: float, stagger_s: float, workers: int, tick: list[str]) -> Run:
    with tempfile.TemporaryDirectory() as data:
        args = ["--serve", data, "--workers", str(workers), *tick]
        with serving(__file__, args) as (proc, base):
            run = asyncio.run(drive(base, n, duration_s, stagger_s, proc.pid, workers))
        run.decode = read_stats(data)
        return run


def fmt(d: dict | None, key: str) -> str:
    v = None if d is None else d.get(key)
    return "–" if v is None else f"{v:.1f}"


def pcts(d: dict | None, keys=("p50_ms", "p95_ms", "p99_ms")) -> str:
    return " / ".join(fmt(d, k) for k in keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", default="1,10,50,100", help="comma-separated counts")
    ap.add_argument(
        "--duration",
        type=float,
        default=SESSION_S,
        help=f"session time, s (default {SESSION_S:g}: all)",
    )
    ap.add_argument(
        "--spread", type=float, default=5.0, help="s over which the athletes' starts are spread"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes of the server (Settings.workers; default 0: one process)",
    )
    ap.add_argument(
        "--tick",
        type=float,
        default=None,
        help="the sources' SourceParams.tick_s, s (default: SourceParams' own, 0)",
    )
    ap.add_argument("--serve", metavar="DATA", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_main(args.serve, args.workers, args.tick)
        return

    counts = [int(x) for x in args.athletes.split(",")]
    print(f"# live latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(
        f"command: .venv/bin/python benchmarks/live_latency.py --athletes {args.athletes} "
        f"--duration {args.duration:g} --spread {args.spread:g} --workers {args.workers}"
        + ("" if args.tick is None else f" --tick {args.tick:g}")
    )
    runs = []
    for n in counts:
        stagger = args.spread / n if n > 1 else 0.0
        tick = [] if args.tick is None else ["--tick", str(args.tick)]
        runs.append(one_run(n, args.duration, stagger, args.workers, tick))
        r = runs[-1]
        print(
            f"<!-- {n} athletes done: received {r.received}; closes {r.closes}; "
            f"max ms { {k: v['max_ms'] for k, v in r.metrics['latency'].items()} } -->",
            flush=True,
        )

    print()
    print("Frame in → message handed to the client's socket, ms (p50 / p95 / p99):")
    print()
    print(
        "| athletes | cues | cue | bottom | rep | angles | end lag max s "
        "| angle frames dropped | closes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        lat = r.metrics["latency"]
        cells = [
            str(r.athletes),
            str(lat["cue"]["count"]),
            *(pcts(lat[k]) for k in ("cue", "bottom", "rep", "angles")),
            f"{max(r.end_lag_s):.2f}",
            str(r.metrics["angle_frames_dropped"]),
            ", ".join(f"{v}× {k}" for k, v in r.closes.items()),
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Stages of the same (all message types), ms (p50 / p99); resources of the server:")
    print()
    print(
        "| athletes | ingest | queue | processing | send | step | decode per call µs "
        "| notifications per call | server CPU | CPU per athlete | RSS MB (idle → peak) "
        "| RSS per athlete MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        st = r.metrics["stages"]
        d = r.decode
        per_call = 1e6 * d["s"] / d["calls"] if d.get("calls") else float("nan")
        per_note = d["notifications"] / d["calls"] if d.get("calls") else float("nan")
        cpu = 100 * r.cpu_s / r.wall_s
        peak = max(r.rss_kb) if r.rss_kb else r.rss_idle_kb
        cells = [
            str(r.athletes),
            *(pcts(st[k], ("p50_ms", "p99_ms")) for k in ("ingest", "queue", "processing", "send")),
            pcts(r.metrics["processing"], ("p50_ms", "p99_ms")),
            f"{per_call:.0f}",
            f"{per_note:.2f}",
            f"{cpu:.0f} % of a core",
            f"{cpu / r.athletes:.1f} %",
            f"{r.rss_idle_kb / 1024:.0f} → {peak / 1024:.0f}",
            f"{(peak - r.rss_idle_kb) / 1024 / r.athletes:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    for r in runs:
        lags = sorted(r.end_lag_s)
        print(
            f"<!-- {r.athletes} athletes: wall {r.wall_s:.1f} s, end lag median "
            f"{statistics.median(lags):.2f} s max {lags[-1]:.2f} s; the clients (this "
            f"process) {100 * r.client_cpu_s / r.wall_s:.0f} % of a core; decode {r.decode} -->"
        )


if __name__ == "__main__":
    main()
