"""Decode throughput of the protocol codec and the CPU the BLE ingest path needs.

Three measurements, all on the simulator's real protocol notifications:

1. ``firmware_protocol.decode_frames`` alone: frames/s and samples/s for batches of
   1 to 4096 frames, at ATT MTU 23 (one sample per frame) and 247 (firmware's 3
   samples per frame at 100 Hz). Median of --runs.
2. ingest's whole per-sensor path, ``SensorChannel.feed`` (decode, unwrap, exact loss
   count, clock mapping, ordering, batching), per call for the same batch sizes.
3. The BLE path for 4 sensors at 200 Hz in real time: :class:`ingest.BleSource` on
   bleak's real ``BleakClient`` over the test suite's fake backend
   (tests/ingest_fakes.py), whose peripherals call the notification callback at each
   notification's simulated arrival time, as BlueZ would. Reported as the fraction of
   one core the process used over --ble-seconds of streaming (user + system), for a
   10 ms tick (``SourceParams.tick_s``) and for the default, tick 0 (each notification
   decoded as soon as its task runs). It includes the fake peripherals' own timers, but not BlueZ's
   D-Bus work nor the parsing in bleak's D-Bus backend, which real hardware adds.

    .venv/bin/python benchmarks/decode.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from firmware_protocol import decode_frames  # noqa: E402
from ingest import BleSource, PairedSensor, SensorBatch, SourceParams  # noqa: E402
from ingest._channel import SensorChannel  # noqa: E402
from processing import Placement  # noqa: E402
from simulator import LinkParams, SimulationConfig, merged_notifications, simulate  # noqa: E402

BATCHES = (1, 4, 16, 256, 4096)


def median_time(fn, runs: int, min_s: float = 0.2) -> float:
    """Median over `runs` of the time per call of `fn` (repeated for at least `min_s`)."""
    per_call = []
    for _ in range(runs):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_s:
                break
        per_call.append(dt / n)
    return statistics.median(per_call)


class ChannelFeeder:
    """Feed one sensor's notifications to a SensorChannel, `k` per call, in order.

    The channel keeps state, so every call continues where the last one stopped (in
    order, new samples: the realistic case); at the end a new channel starts over.
    """

    def __init__(self, placement, info_bytes, hosts, payloads, k):
        self.placement, self.info_bytes = placement, info_bytes
        self.hosts, self.payloads, self.k = hosts, payloads, k
        self.ch, self.i = None, 0

    def __call__(self) -> None:
        k, i = self.k, self.i
        if self.ch is None or i + k > len(self.payloads):
            self.ch = SensorChannel(self.placement, t0_ns=0, silence_timeout_s=1.5)
            self.ch.feed_info(0, self.info_bytes)
            i = 0
        self.ch.feed(self.hosts[i : i + k], self.payloads[i : i + k])
        self.i = i + k


def codec_and_channel(runs: int) -> None:
    session = simulate(SimulationConfig(profile="default", seed=0))
    print(
        "| ATT MTU | frames per call | samples per call | decode_frames µs per call "
        "| frames/s | samples/s | SensorChannel.feed µs per call | µs per notification |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mtu in (23, 247):
        sensors, notes = merged_notifications(session, LinkParams(att_mtu=mtu), 0)
        p = Placement.SACRUM
        mine = [n for n in notes if n.placement is p]
        info, info_bytes = sensors[p].info, sensors[p].info_bytes
        payloads = [n.payload for n in mine]
        hosts = [round(n.host_time_s * 1e9) for n in mine]
        for k in BATCHES:
            frames = payloads[:k]
            samples = len(decode_frames(frames, info))
            t_dec = median_time(partial(decode_frames, frames, info), runs)
            t_feed = median_time(ChannelFeeder(p, info_bytes, hosts, payloads, k), runs)
            print(
                f"| {mtu} | {k} | {samples} | {t_dec * 1e6:.1f} | {k / t_dec:,.0f} "
                f"| {samples / t_dec:,.0f} | {t_feed * 1e6:.1f} | {t_feed * 1e6 / k:.1f} |",
                flush=True,
            )


def exact_client(world):
    """The fake client, delivering each notification at its arrival time.

    (The test fake polls every 4 ms; BlueZ hands each notification over as it comes.)
    """
    from ingest_fakes import FakeClient

    class ExactClient(FakeClient):
        async def _stream(self) -> None:
            p = self.peripheral
            connection = p.connects
            now = self.world.now()
            i = next((k for k, (t, _) in enumerate(p.notes) if t >= now), len(p.notes))
            while i < len(p.notes):
                wait = p.notes[i][0] - self.world.now()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = self.world.now()
                while i < len(p.notes) and p.notes[i][0] <= now:
                    payload = self._restamp(p.notes[i][1])
                    p.sent.append((connection, payload))
                    callback = self._callbacks.get(2)
                    if callback is not None:
                        callback(bytearray(payload))
                    i += 1

    ExactClient.world = world
    return ExactClient


async def ble_run(tick_s: float, mtu: int, seconds: float) -> tuple[float, int, int]:
    """CPU fraction of one core, notifications and samples for 4 sensors at 200 Hz."""
    from ingest_fakes import FakePeripheral, FakeWorld

    session = simulate(SimulationConfig(profile="default", seed=0, fs_hz=200.0))
    sensors, notes = merged_notifications(session, LinkParams(att_mtu=mtu), 0)
    lead_s = 0.5
    peripherals = []
    paired = []
    for i, (placement, sensor) in enumerate(sensors.items()):
        mine = [
            (n.host_time_s + lead_s, n.payload)
            for n in notes
            if n.placement == placement and n.host_time_s < seconds + 1.0
        ]
        address = f"AA:BB:CC:00:00:{i:02X}"
        peripherals.append(
            FakePeripheral(address, f"ss-{placement.value}", sensor.info_bytes, mine, mtu=mtu)
        )
        paired.append(PairedSensor(placement, address))
    world = FakeWorld(peripherals)
    backends = world.backends()
    backends["client"] = exact_client(world)
    source = BleSource(paired, backends=backends, params=SourceParams(tick_s=tick_s))
    n_samples = 0
    async with source:
        it = aiter(source)
        # Connect and start streaming, then measure the steady state.
        while not all(ch.samples for ch in source._channels.values()) or len(
            source._channels
        ) < len(paired):
            item = await anext(it)
        cpu0, wall0 = time.process_time(), time.monotonic()
        notes0 = sum(len(p.sent) for p in peripherals)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for item in it:
                    if isinstance(item, SensorBatch):
                        n_samples += len(item)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        n_notes = sum(len(p.sent) for p in peripherals) - notes0
    return cpu / wall, n_notes, n_samples


def ble(seconds: float) -> None:
    print("| ATT MTU | notifications/s (4 sensors) | tick | CPU, % of one core |")
    print("|---|---|---|---|")
    for mtu in (247, 23):
        for tick in (0.01, 0.0):
            share, notes, _ = asyncio.run(ble_run(tick, mtu, seconds))
            print(
                f"| {mtu} | {notes / seconds:.0f} | {tick * 1e3:g} ms | {100 * share:.1f} % |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ble-seconds", type=float, default=20.0)
    ap.add_argument("--ble-only", action="store_true", help="only the BLE path (part 3)")
    args = ap.parse_args()
    print(
        f"# decode, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    if not args.ble_only:
        codec_and_channel(args.runs)
        print()
    ble(args.ble_seconds)


if __name__ == "__main__":
    main()
