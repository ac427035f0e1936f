"""CPU of two versions of the service measured at the same time, for a fair comparison.

The shared benchmark machine's speed wanders by ±25 % within minutes, so two versions
measured one after the other differ by more than most optimisations give. This runs
``live_latency.py`` from two checkouts *at the same time*, each with a few athletes
(15 by default: together about half of the two cores, so neither waits for the other),
and compares the CPU each service used (server and workers, user + system over the
run): both see the same machine at the same moment, and the ratio of the two is steady
to a few per cent where sequential runs scatter by ±10 %. Latency is not compared
here (each run shares the cores with the other); for that, alternate whole runs of
``live_latency.py`` at the size of interest.

    .venv/bin/python benchmarks/side_by_side.py /path/to/checkout-a /path/to/checkout-b
    .venv/bin/python benchmarks/side_by_side.py A A --env-b SQUATSENSE_LOOP=asyncio  # one knob

Each checkout runs its own ``benchmarks/live_latency.py`` with its own ``.venv`` (a
git worktree can share the venv through a symlink). Prints one line per round and the
median ratio B / A.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path


def _cpu_percent(output: str, athletes: int) -> float:
    """The "server CPU" cell (% of a core) of live_latency's resources table."""
    header = next(line for line in output.splitlines() if "| server CPU |" in line)
    column = [c.strip() for c in header.split("|")].index("server CPU")
    rows = [line for line in output.splitlines() if line.startswith(f"| {athletes} |")]
    cell = [c.strip() for c in rows[-1].split("|")][column]
    m = re.match(r"([\d.]+) %", cell)
    if not m:
        raise ValueError(f"no CPU figure in {cell!r}")
    return float(m.group(1))


def _start(checkout: Path, args: argparse.Namespace, env_extra: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    for item in env_extra:
        key, _, value = item.partition("=")
        env[key] = value
    python = checkout / ".venv" / "bin" / "python"
    command = [
        str(python if python.exists() else sys.executable),
        "benchmarks/live_latency.py",
        "--athletes",
        str(args.athletes),
        "--duration",
        str(args.duration),
        "--spread",
        "5",
        "--workers",
        "2",
    ]
    return subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.PIPE, text=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="checkout A (the reference)")
    ap.add_argument("b", type=Path, help="checkout B")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--athletes", type=int, default=15, help="per service (default 15)")
    ap.add_argument("--duration", type=float, default=90.0, help="session length, s")
    ap.add_argument("--env-a", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--env-b", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    ratios = []
    for i in range(1, args.rounds + 1):
        runs = [_start(args.a, args, args.env_a), _start(args.b, args, args.env_b)]
        outputs = [p.communicate()[0] for p in runs]
        if any(p.returncode for p in runs):
            print(f"round {i}: a run failed (exit codes {[p.returncode for p in runs]})")
            return 1
        cpu_a, cpu_b = (_cpu_percent(o, args.athletes) for o in outputs)
        ratios.append(cpu_b / cpu_a)
        print(f"round {i}: A {cpu_a:.0f} %, B {cpu_b:.0f} % of a core: B / A {ratios[-1]:.3f}")
    print(f"median B / A over {len(ratios)} round(s): {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
