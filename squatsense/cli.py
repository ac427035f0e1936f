"""The ``squatsense`` command.

Every subcommand turns bad input into one clear line on stderr and a non-zero exit
code, never a traceback: ``main`` catches squatsense's own error types at the top.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from squatsense import __version__

#: Exit code for bad input (a file, an argument): one line on stderr says what.
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A user-facing failure: its message is printed as one line, without traceback."""


def _json_number(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 6)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate an athlete and write a recording CSV (and the ground truth)."""
    from simulator import Chip, SimulationConfig, list_profiles, simulate

    if args.list_profiles:
        for name, description in list_profiles().items():
            print(f"{name:22s} {description}")
        return 0
    if args.out is None:
        raise CliError("simulate: --out is required (where to write the recording CSV)")
    try:
        config = SimulationConfig(
            profile=args.profile,
            seed=args.seed,
            fs_hz=args.rate_hz,
            chip=Chip(args.chip),
            random_mounting=not args.known_mounting,
            frame_loss=args.loss,
        )
        session = simulate(config)
    except KeyError as exc:
        raise CliError(f"simulate: {exc.args[0]}") from exc
    from ingest import write_recording

    out = Path(args.out)
    write_recording(out, session.recording())
    print(
        f"wrote {out}: profile {args.profile}, {session.duration_s:.0f} s, "
        f"{len(session.truth.reps)} reps, sensors {', '.join(p.value for p in session.streams)}"
    )
    if args.truth:
        truth = session.truth
        doc = {
            "profile": args.profile,
            "seed": args.seed,
            "duration_s": session.duration_s,
            **truth.to_json_dict(),
            "angles": {
                "time_s": [_json_number(t) for t in truth.time_s],
                **{k: [_json_number(x) for x in v] for k, v in truth.angles_deg.items()},
            },
            "mounting_quat_xyzw": {
                p.value: s.config.mounting.as_quat().tolist() for p, s in session.streams.items()
            },
        }
        Path(args.truth).write_text(json.dumps(doc))
        print(f"wrote {args.truth}: ground truth (angles at 100 Hz, per-rep metrics)")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a recording CSV: write reps.csv, angles.csv and summary.json."""
    from squatsense._analyze import run_analyze

    doc = run_analyze(args.recording, args.out)
    reps = doc["reps"]
    faults = ", ".join(f"{k} ({len(v)})" for k, v in doc["faults"].items()) or "none"  # type: ignore[union-attr]
    print(f"{reps} reps in {len(doc['sets'])} set(s); cues: {faults}")  # type: ignore[arg-type]
    print(f"wrote {args.out}/reps.csv, angles.csv, summary.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``squatsense`` command."""
    from simulator import Chip

    parser = argparse.ArgumentParser(
        prog="squatsense",
        description="A squat coach from cheap Bluetooth IMUs on the sacrum, L1 and both shins.",
    )
    parser.add_argument("--version", action="version", version=f"squatsense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sim = sub.add_parser("simulate", help="simulate an athlete; write a recording CSV")
    sim.add_argument("--profile", default="default", help="athlete profile (see --list-profiles)")
    sim.add_argument("--list-profiles", action="store_true", help="list profiles and exit")
    sim.add_argument("--out", help="recording CSV to write")
    sim.add_argument("--truth", help="also write the ground truth as JSON here")
    sim.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sim.add_argument("--rate-hz", type=float, default=100.0, help="sensor rate, Hz (default 100)")
    sim.add_argument(
        "--chip",
        default="mpu6050",
        choices=[c.value for c in Chip],
        help="IMU chip to imitate (default mpu6050)",
    )
    sim.add_argument("--loss", type=float, default=0.01, help="BLE frame loss probability")
    sim.add_argument(
        "--known-mounting", action="store_true", help="strap sensors on aligned, not at random"
    )
    sim.set_defaults(func=cmd_simulate)

    ana = sub.add_parser(
        "analyze", help="analyse a recording CSV: reps.csv, angles.csv, summary.json"
    )
    ana.add_argument("recording", help="recording CSV (time_s,sensor,acc_x..gyr_z)")
    ana.add_argument("--out", required=True, help="folder to write the results into")
    ana.set_defaults(func=cmd_analyze)

    from squatsense._service_commands import register as register_service_commands

    register_service_commands(sub)  # serve, demo

    from squatsense._report import register as register_report_command

    register_report_command(sub)  # report

    from ingest._commands import register as register_ingest_commands

    register_ingest_commands(sub)  # scan, pair, record, export
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    from firmware_protocol import ProtocolError
    from ingest import IngestError, RecordingError

    try:
        return func(args)
    except (CliError, RecordingError, ProtocolError, IngestError) as exc:
        print(f"squatsense: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"squatsense: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("squatsense: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
