"""Start a benchmark's own server subprocess and wait until it serves (shared helper).

The benchmarks that measure the service (live_latency.py, memory.py) re-run their own
script with ``--serve DATA ...`` in a subprocess, which prints uvicorn's "serving on
URL" line once it listens.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def serving(script: str, args: Sequence[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``python script *args`` and yield (process, base URL) once it serves.

    The process gets SIGTERM (and up to 120 s to finish) when the block ends.

    Raises
    ------
    RuntimeError
        The server exited before printing the URL it serves on.
    """
    proc = subprocess.Popen(
        [sys.executable, script, *args],
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
        yield proc, base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        assert proc.stdout is not None
        proc.stdout.close()
