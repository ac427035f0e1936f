"""The event loop the server and its workers run on (service/_loop.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service._loop import LOOP_ENV, LoopChoiceError, run, running_loop_name

ROOT = Path(__file__).resolve().parents[1]


async def _loop_name() -> tuple[str, str]:
    return running_loop_name(), type(asyncio.get_running_loop()).__module__


def test_uvloop_by_default(monkeypatch):
    pytest.importorskip("uvloop", reason="uvloop is not installed on this platform")
    monkeypatch.delenv(LOOP_ENV, raising=False)
    name, module = run(_loop_name())
    assert name == "uvloop" and module.startswith("uvloop")


def test_asyncio_on_request(monkeypatch):
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    name, module = run(_loop_name())
    assert name == "asyncio" and module.startswith("asyncio")


def test_an_unknown_loop_is_one_clear_error_and_nothing_runs(monkeypatch):
    monkeypatch.setenv(LOOP_ENV, "tokio")
    coro = _loop_name()
    with pytest.raises(LoopChoiceError, match=r"SQUATSENSE_LOOP='tokio': expected 'uvloop' or"):
        run(coro)
    assert coro.cr_frame is None  # closed, so no "never awaited" warning either


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_cli_reports_an_unknown_loop_in_one_line(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUATSENSE_")}
    env[LOOP_ENV] = "tokio"
    r = subprocess.run(
        [sys.executable, "-m", "squatsense", command, "--port", "0", "--data", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith(f"squatsense: error: {command}: SQUATSENSE_LOOP='tokio'")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
