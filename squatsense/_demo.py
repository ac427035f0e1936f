"""``squatsense demo`` until the service exists: a simulated session over the wire protocol.

Virtual sensors encode their samples into protocol notifications; this demo decodes
them as the host would (per notification, with loss counted from the sample counters)
and prints, once a second of session time, what each sensor delivered.
"""

from __future__ import annotations

import asyncio

import numpy as np

from firmware_protocol import decode_frames, decode_info
from simulator import SimulationConfig, merged_notifications, simulate, stream_live


def run_protocol_demo(*, profile: str, seed: int, fast: bool) -> int:
    """Stream one simulated session through the codec and print what is decoded."""
    session = simulate(SimulationConfig(profile=profile, seed=seed))
    sensors, notes = merged_notifications(session, seed=seed)
    infos = {p: decode_info(v.info_bytes) for p, v in sensors.items()}
    print(
        f"squatsense demo: simulated athlete {profile!r} (seed {seed}), "
        f"{session.duration_s:.0f} s, {len(session.truth.reps)} squats, "
        f"{len(notes)} BLE notifications"
    )
    for p, info in infos.items():
        print(
            f"  {p.value:10s} info: {info.chip.name}, {info.sample_rate_hz:g} Hz, "
            f"±{info.acc_range_g} g, ±{info.gyr_range_dps} deg/s"
        )
    print("  each line: per sensor, samples decoded this second / lost so far / gyro RMS deg/s")
    return asyncio.run(_consume(sensors, notes, infos, fast))


async def _consume(sensors, notes, infos, fast: bool) -> int:
    last_counter: dict = {p: None for p in sensors}
    lost = dict.fromkeys(sensors, 0)
    total = dict.fromkeys(sensors, 0)
    second: dict = {p: [] for p in sensors}
    next_print = 1.0

    def flush(t: float) -> None:
        parts = []
        for p in sensors:
            frames = second[p]
            if frames:
                batch = decode_frames(frames, infos[p])
                rms = float(np.sqrt(np.mean(np.rad2deg(batch.gyr_rps) ** 2)))
                n = len(batch)
            else:
                n, rms = 0, float("nan")
            parts.append(f"{p.value} {n:3d}/{lost[p]:3d}/{rms:6.1f}")
            second[p] = []
        print(f"  t={t:6.1f} s  " + "  ".join(parts), flush=True)

    async for note in stream_live(notes, speed=0.0 if fast else 1.0):
        while note.host_time_s >= next_print:
            flush(next_print)
            next_print += 1.0
        p = note.placement
        counter0 = int.from_bytes(note.payload[2:4], "little")
        if last_counter[p] is not None:
            lost[p] += (counter0 - last_counter[p] - 1) % 65536
        last_counter[p] = (counter0 + note.n_samples - 1) % 65536
        total[p] += note.n_samples
        second[p].append(note.payload)
    flush(next_print)
    print("done: " + ", ".join(f"{p.value} {total[p]} samples, {lost[p]} lost" for p in sensors))
    return 0
