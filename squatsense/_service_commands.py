"""The ``serve`` and ``demo`` subcommands of ``squatsense``."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``demo`` to the ``squatsense`` parser."""
    serve = subparsers.add_parser("serve", help="run the service (HTTP API and live cues)")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1: this machine)")
    serve.add_argument("--port", type=int, help="TCP port (default 8000; 0: a free one)")
    serve.add_argument(
        "--data", type=Path, help="data directory (default $SQUATSENSE_DATA or per-user)"
    )
    serve.set_defaults(func=cmd_serve)

    demo = subparsers.add_parser(
        "demo", help="run the service with a simulated athlete; print live reps and cues"
    )
    demo.add_argument("--profile", default="default", help="athlete profile (default: default)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--fast", action="store_true", help="as fast as possible, not real time")
    demo.add_argument("--port", type=int, default=8000, help="TCP port (default 8000, else free)")
    demo.add_argument("--data", type=Path, help="data directory (default as for serve)")
    demo.add_argument("--out", type=Path, help="folder for the exports (default: in --data)")
    demo.set_defaults(func=cmd_demo)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; print the token once, when it is generated."""
    from pydantic import ValidationError

    from service import ServiceError, Settings, TokenOrigin, resolve_token, serve
    from service._loop import LoopChoiceError
    from service._loop import run as run_loop
    from squatsense.cli import CliError

    overrides = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("data_dir", args.data))
        if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise CliError(f"serve: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    token = resolve_token(settings)
    if token.origin is TokenOrigin.GENERATED:
        print(
            f"API token (new; shown once, stored in {token.path}): "
            f"{token.value.get_secret_value()}",
            flush=True,
        )
    elif token.origin is TokenOrigin.FILE:
        print(f"API token: in {token.path}", flush=True)
    else:
        print("API token: from SQUATSENSE_TOKEN", flush=True)
    # SIGTERM like Ctrl-C: uvicorn shuts down gracefully (live sessions are stopped and
    # their summaries stored), then re-raises the signal, which ends here as exit code 0.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_loop(serve(settings, token=token, announce=lambda s: print(s, flush=True)))
    except (ServiceError, LoopChoiceError) as exc:
        raise CliError(f"serve: {exc}") from exc
    except KeyboardInterrupt:
        print("squatsense: stopped", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the service with a simulated athlete; print live reps and cues; write exports."""
    from service._loop import LoopChoiceError
    from squatsense._demo import DemoError, DemoOptions, run_demo
    from squatsense.cli import CliError

    options = DemoOptions(
        profile=args.profile,
        seed=args.seed,
        fast=args.fast,
        port=args.port,
        data_dir=args.data,
        out_dir=args.out,
    )
    try:
        return run_demo(options)
    except (DemoError, LoopChoiceError) as exc:
        raise CliError(f"demo: {exc}") from exc
