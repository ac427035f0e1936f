"""The ``scan``, ``pair``, ``record`` and ``export`` subcommands of ``squatsense``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from processing import Placement


def _one_line_errors(func: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """Turn our errors into the CLI's one-line error (squatsense.cli.CliError)."""

    @wraps(func)
    def run(args: argparse.Namespace) -> int:
        from ingest import IngestError
        from squatsense.cli import CliError

        try:
            return func(args)
        except IngestError as exc:
            raise CliError(f"{args.command}: {exc}") from exc

    return run


def register(subparsers: Any) -> None:
    """Add ``scan``, ``pair``, ``record`` and ``export`` to the ``squatsense`` parser."""
    scan = subparsers.add_parser("scan", help="list nearby supported sensors")
    scan.add_argument("--timeout", type=float, default=5.0, help="seconds to listen (default 5)")
    scan.add_argument(
        "--info", action="store_true", help="connect to each to read placement and battery"
    )
    scan.set_defaults(func=_one_line_errors(cmd_scan))

    pair = subparsers.add_parser("pair", help="assign sensors to placements (saved per user)")
    pair.add_argument(
        "assign",
        nargs="*",
        metavar="PLACEMENT=ADDRESS",
        help="assign directly, e.g. sacrum=C4:7F:51:0A:11:02 (no scan); none: interactive",
    )
    pair.add_argument("--kind", default="squatsense", choices=["squatsense", "witmotion"])
    pair.add_argument("--list", action="store_true", help="show the pairing and exit")
    pair.add_argument("--forget", metavar="PLACEMENT", action="append", default=[])
    pair.add_argument("--timeout", type=float, default=5.0, help="scan seconds (default 5)")
    pair.add_argument("--config", help="pairing file (default: per-user config dir)")
    pair.set_defaults(func=_one_line_errors(cmd_pair))

    rec = subparsers.add_parser(
        "record", help="record the paired sensors until Ctrl-C (raw log + recording CSV)"
    )
    rec.add_argument("--out", required=True, help="recording CSV to write when stopped")
    rec.add_argument("--raw", help="raw frame log (default: --out with suffix .sslog)")
    rec.add_argument("--simulate", metavar="PROFILE", help="record simulated sensors instead")
    rec.add_argument("--speed", type=float, default=1.0, help="simulation speed (default 1)")
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    rec.add_argument("--config", help="pairing file (default: per-user config dir)")
    rec.set_defaults(func=_one_line_errors(cmd_record))

    export = subparsers.add_parser("export", help="write the recording CSV of a raw frame log")
    export.add_argument("raw", help="raw frame log (.sslog)")
    export.add_argument("--out", required=True, help="recording CSV to write")
    export.set_defaults(func=_one_line_errors(cmd_export))


# ---------------------------------------------------------------------------- scan


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _found_rows(found: list[Any]) -> list[list[str]]:
    rows = [["#", "ADDRESS", "NAME", "KIND", "RSSI", "BATTERY", "PLACEMENT"]]
    for i, s in enumerate(found, 1):
        rows.append(
            [
                str(i),
                s.address,
                s.name or "-",
                str(s.kind),
                f"{s.rssi_dbm} dBm" if s.rssi_dbm is not None else "-",
                f"{s.battery_pct} %" if s.battery_pct is not None else "-",
                str(s.placement) if s.placement is not None else "-",
            ]
        )
    return rows


def cmd_scan(args: argparse.Namespace) -> int:
    """List nearby squatsense and WitMotion sensors."""
    from ingest import scan_sensors

    print(f"scanning for {args.timeout:g} s ...", file=sys.stderr)
    found = asyncio.run(scan_sensors(args.timeout, read_info=args.info))
    if not found:
        print("no supported sensor found (squatsense firmware or WitMotion BLE 5.0):")
        print("is it switched on, charged, and not connected to another phone or computer?")
        return 1
    print(_table(_found_rows(found)))
    return 0


# ---------------------------------------------------------------------------- pair


def _print_pairing(pairing: dict[Placement, Any], path: Path) -> None:
    print(f"pairing file: {path}")
    if not pairing:
        print("  (no sensor paired)")
    for p in Placement:
        s = pairing.get(p)
        if s is not None:
            print(f"  {p.value:10s} {s.address}  {s.name or '-'}  ({s.kind})")


def cmd_pair(args: argparse.Namespace) -> int:
    """Assign sensors to placements and save them in the per-user pairing file."""
    from ingest import PairedSensor, SensorKind, load_pairing, pairing_path, save_pairing
    from squatsense.cli import CliError

    path = Path(args.config) if args.config else pairing_path()
    pairing = load_pairing(path)
    if args.list:
        _print_pairing(pairing, path)
        return 0
    changed = False
    for name in args.forget:
        placement = _placement(name)
        if pairing.pop(placement, None) is not None:
            changed = True
    for item in args.assign:
        name, sep, address = item.partition("=")
        if not sep or not address:
            raise CliError(f"pair: expected PLACEMENT=ADDRESS, got {item!r}")
        placement = _placement(name)
        pairing[placement] = PairedSensor(placement, address.strip(), None, SensorKind(args.kind))
        changed = True
    if not args.assign and not args.forget:
        changed = _pair_interactively(pairing, args.timeout)
    if changed:
        save_pairing(pairing, path)
    _print_pairing(pairing, path)
    return 0


def _placement(name: str) -> Placement:
    from squatsense.cli import CliError

    try:
        return Placement(name.strip())
    except ValueError:
        names = ", ".join(p.value for p in Placement)
        raise CliError(f"pair: unknown placement {name!r} (expected {names})") from None


def _pair_interactively(pairing: dict[Placement, Any], timeout_s: float) -> bool:
    from ingest import PairedSensor, identify_moving, scan_sensors
    from squatsense.cli import CliError

    if not sys.stdin.isatty():
        raise CliError("pair: interactive pairing needs a terminal; use PLACEMENT=ADDRESS")
    print(f"scanning for {timeout_s:g} s ...")
    found = asyncio.run(scan_sensors(timeout_s, read_info=True))
    if not found:
        print("no supported sensor found: switch them on and try again")
        return False
    print(_table(_found_rows(found)))
    print(
        "For each placement: a number from the list, 't' to identify by moving it, "
        "or Enter to skip."
    )
    changed = False
    for placement in Placement:
        if any(s.placement is placement for s in found):
            print(f"{placement}: the sensor itself says it is here (no pairing needed)")
            continue
        answer = input(f"{placement}? ").strip().lower()
        chosen = None
        if answer == "t":
            print(f"Move the sensor on your {placement} now (tap or rotate it) ...")
            chosen = asyncio.run(identify_moving(found[:4]))
            if chosen is None:
                print("  no single sensor moved clearly; skipped")
                continue
            print(f"  it is {chosen.address} ({chosen.name or '-'})")
        elif answer.isdigit() and 1 <= int(answer) <= len(found):
            chosen = found[int(answer) - 1]
        if chosen is not None:
            pairing[placement] = PairedSensor(placement, chosen.address, chosen.name, chosen.kind)
            changed = True
    return changed


# ---------------------------------------------------------------------------- record


def _status_line(stats: dict[Placement, Any], t: float) -> str:
    parts = []
    for p, s in stats.items():
        state = f"{s.rate_hz:5.1f} Hz" if s.connected else " --- off"
        battery = f" bat {s.battery_pct}%" if s.battery_pct is not None else ""
        parts.append(f"{p.value} {state} lost {s.lost}{battery}")
    return f"t={t:7.1f} s | " + " | ".join(parts)


async def _record(source: Any, raw: Path, duration_s: float | None) -> None:
    from ingest import RawLogWriter, SensorBatch, StatusKind

    tty = sys.stdout.isatty()
    with RawLogWriter(raw) as log:
        source.add_record_sink(log)
        async with source:
            flusher = asyncio.create_task(log.run())
            try:
                last = time.monotonic()
                async for item in source:
                    now = time.monotonic()
                    if not isinstance(item, SensorBatch) and item.kind in (
                        StatusKind.CONNECTED,
                        StatusKind.DISCONNECTED,
                        StatusKind.RECONNECTING,
                        StatusKind.WARNING,
                    ):
                        print(("\n" if tty else "") + item.message, flush=True)
                    if now - last >= 1.0:
                        last = now
                        line = _status_line(source.stats(), source.session_time())
                        print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
                    if duration_s is not None and source.session_time() >= duration_s:
                        break
            finally:
                flusher.cancel()


def cmd_record(args: argparse.Namespace) -> int:
    """Record until Ctrl-C: a raw frame log while streaming, the CSV when stopped."""
    from ingest import RAW_LOG_SUFFIX, BleSource, SimulatedSource, export_raw_log, warm_up
    from squatsense.cli import CliError

    out = Path(args.out)
    raw = Path(args.raw) if args.raw else out.with_suffix(RAW_LOG_SUFFIX)
    if raw.resolve() == out.resolve():
        raise CliError("record: --raw and --out must differ")
    if raw.exists() and raw.stat().st_size:
        raise CliError(f"record: {raw} exists; move it away or choose another --raw")
    if args.simulate:
        source = SimulatedSource(args.simulate, speed=args.speed, duration_s=args.duration)
    else:
        warm_up()  # the decoder's compiled loops, before any sensor streams
        source = BleSource(pairing_path=args.config)
    print(f"recording to {raw} (raw frame log); Ctrl-C to stop", flush=True)
    try:
        asyncio.run(_record(source, raw, args.duration))
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    if not raw.exists() or raw.stat().st_size == 0:
        raise CliError("record: nothing was received; no recording written")
    contents = export_raw_log(raw, out)
    _print_summary(out, contents)
    return 0


def _print_summary(out: Path, contents: Any) -> None:
    print(f"wrote {out}:")
    for p, s in contents.stats.items():
        n = len(contents.samples.get(p, ()))
        print(
            f"  {p.value:10s} {n} samples, {s.lost} lost ({100 * s.loss_ratio:.2f} %), "
            f"{s.reconnects} reconnect(s), drift {s.clock_drift_ppm or 0:+.0f} ppm"
        )
    if contents.skipped_bytes:
        print(f"  raw log damage: {contents.skipped_bytes} byte(s) skipped")


def cmd_export(args: argparse.Namespace) -> int:
    """Write the recording CSV of a raw frame log (e.g. after a crash)."""
    from ingest import export_raw_log

    contents = export_raw_log(args.raw, args.out)
    _print_summary(Path(args.out), contents)
    return 0
