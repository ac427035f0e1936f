"""The event loop of the service's processes: uvloop where it is installed.

The server and its worker processes spend much of their time in the event loop's own
machinery: a timer and a task step per simulated notification, a callback per
processing step, a socket write per turn. uvloop (libuv, installed with
``uvicorn[standard]`` on Linux and macOS) does that work in C: the same code took
5–6 % less CPU on it with 15 live athletes, measured side by side
(docs/performance.md). ``SQUATSENSE_LOOP=asyncio`` chooses
asyncio's own loop instead (for comparison, or if uvloop misbehaves somewhere); where
uvloop is not installed (Windows), asyncio's is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Environment variable naming the loop: ``uvloop`` (the default) or ``asyncio``.
LOOP_ENV = "SQUATSENSE_LOOP"


class LoopChoiceError(ValueError):
    """``SQUATSENSE_LOOP`` names no known loop."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the chosen loop; None: asyncio's own.

    Raises
    ------
    LoopChoiceError
        ``SQUATSENSE_LOOP`` names neither loop.
    """
    choice = os.environ.get(LOOP_ENV, "uvloop").strip().lower() or "uvloop"
    if choice == "asyncio":
        return None
    if choice != "uvloop":
        raise LoopChoiceError(f"{LOOP_ENV}={choice!r}: expected 'uvloop' or 'asyncio'")
    try:
        import uvloop
    except ImportError:  # not installed on this platform
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the chosen loop (see the module docstring).

    Raises
    ------
    LoopChoiceError
        ``SQUATSENSE_LOOP`` names neither loop (`main` is closed, not run).
    """
    try:
        factory = loop_factory()
    except LoopChoiceError:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """``"uvloop"`` or ``"asyncio"``: the loop this coroutine runs on (for the logs)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
