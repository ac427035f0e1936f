"""``squatsense demo``: the service, a simulated athlete, and what a coach would see.

Starts the service on this machine, creates a session of a simulated athlete (profile
``default``: three sets with faults, so cues appear) through the HTTP API, follows it on
the live WebSocket like any client and prints the reps and cues as they happen, then
fetches the summary and the CSV exports and writes them to a folder. ``--fast`` runs the
same session as fast as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: What the demo athlete is called in the database.
DEMO_ATHLETE = "Demo athlete"
#: Print the six angles once per this much session time, s.
ANGLES_EVERY_S = 10.0


class DemoError(Exception):
    """A failure the demo reports as one line (the CLI prints it)."""


@dataclass(frozen=True)
class DemoOptions:
    """What ``squatsense demo`` was asked for."""

    profile: str = "default"
    seed: int = 0
    fast: bool = False
    port: int = 8000
    data_dir: Path | None = None
    out_dir: Path | None = None


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns the exit code."""
    from service._loop import run as run_loop

    return run_loop(_demo(options))


class _Api:
    """A tiny HTTP client (stdlib; no proxy: the service is on this machine)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self._token = token
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _request(self, method: str, path: str, body: object = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=120) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", "")
            except ValueError:
                detail = ""
            raise DemoError(f"{method} {path}: HTTP {exc.code} {detail}".rstrip()) from exc
        except OSError as exc:
            raise DemoError(f"{method} {path}: {exc}") from exc

    async def json(self, method: str, path: str, body: object = None) -> Any:
        return json.loads(await asyncio.to_thread(self._request, method, path, body))

    async def text(self, path: str) -> str:
        return (await asyncio.to_thread(self._request, "GET", path)).decode("utf-8")


def _num(x: object, fmt: str = ".0f") -> str:
    return "–" if not isinstance(x, int | float) or not math.isfinite(x) else format(x, fmt)


def _at(t: object) -> str:
    return f"[{_num(t, '6.1f')} s]"


class _Printer:
    """Turns live messages into terminal lines."""

    def __init__(self) -> None:
        self.next_angles_s = ANGLES_EVERY_S
        self.reps = 0
        self.cues = 0
        self.angle_frames = 0

    def rep(self, r: dict[str, Any]) -> None:
        self.reps += 1
        print(
            f"  {_at(r.get('t_end_s'))} set {r['set']} rep {r['rep']}: "
            f"depth {_num(r.get('depth_deg'))}°, down {_num(r.get('eccentric_s'), '.1f')} s, "
            f"up {_num(r.get('concentric_s'), '.1f')} s, "
            f"butt wink {_num(r.get('butt_wink_deg'))}°, "
            f"knee in L {_num(r.get('knee_in_left_deg'))}° R {_num(r.get('knee_in_right_deg'))}°",
            flush=True,
        )

    def cue(self, c: dict[str, Any]) -> None:
        self.cues += 1
        print(
            f"  {_at(c.get('t_s'))}   CUE set {c['set']} rep {c['rep']} ({c['code']}): {c['text']}",
            flush=True,
        )

    def message(self, m: dict[str, Any]) -> None:
        kind = m.get("type")
        if kind == "angles":
            self.angle_frames += 1
            times = m.get("time_s") or []
            if times and times[-1] >= self.next_angles_s:
                self.next_angles_s = (times[-1] // ANGLES_EVERY_S + 1) * ANGLES_EVERY_S
                v = {k: (m[k][-1] if m.get(k) else None) for k in m if k.endswith("_deg")}
                print(
                    f"  {_at(times[-1])} angles: pelvic tilt {_num(v['pelvic_tilt_deg'])}°, "
                    f"lumbar {_num(v['lumbar_flexion_deg'])}°, "
                    f"ankles {_num(v['ankle_df_left_deg'])}°/{_num(v['ankle_df_right_deg'])}°, "
                    f"knees in {_num(v['knee_in_left_deg'])}°/{_num(v['knee_in_right_deg'])}°",
                    flush=True,
                )
        elif kind == "rep":
            self.rep(m)
        elif kind == "cue":
            self.cue(m)
        elif kind == "sensor" and m.get("kind") in ("connected", "disconnected", "warning"):
            print(f"  {_at(m.get('t_s'))} sensor {m.get('message')}", flush=True)
        elif kind == "status":
            if m.get("event") == "snapshot":
                for r in m.get("reps", []):
                    self.rep(r)
                for c in m.get("cues", []):
                    self.cue(c)
            elif m.get("event") == "state":
                print(f"  {_at(m.get('t_s'))} session {m['state']}", flush=True)
            elif m.get("detail"):
                print(f"  {_at(m.get('t_s'))} {m['detail']}", flush=True)


async def _follow(url: str, token: str, printer: _Printer) -> tuple[int | None, str]:
    """Print the live stream until the server closes it; return the close code and reason."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, WebSocketException

    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            proxy=None,
            max_size=None,
            open_timeout=30,
        ) as ws:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    printer.message(json.loads(raw))
            return ws.close_code, ws.close_reason or ""
    except (OSError, WebSocketException) as exc:
        raise DemoError(f"live stream {url.split('?')[0]}: {exc}") from exc


async def _demo(opt: DemoOptions) -> int:
    from service import (
        ServiceError,
        Settings,
        Store,
        TokenOrigin,
        bind_socket_or_free,
        create_app,
        make_server,
        resolve_token,
        wait_started,
    )

    settings = Settings(data_dir=opt.data_dir) if opt.data_dir else Settings()
    try:
        await asyncio.to_thread(lambda: Store.open(settings.database_path).close())
    except ServiceError as exc:
        raise DemoError(str(exc)) from exc
    token = await asyncio.to_thread(resolve_token, settings)
    secret = token.value.get_secret_value()
    sock = bind_socket_or_free("127.0.0.1", opt.port)
    port = sock.getsockname()[1]
    server = make_server(create_app(settings, token=token), log_level="warning")
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        if not await wait_started(server, serving):
            raise DemoError("the service did not start (see the messages above)")
        base = f"http://127.0.0.1:{port}"
        print(f"squatsense demo: service on {base} (data: {settings.data_dir})", flush=True)
        if token.origin is TokenOrigin.GENERATED:
            print(f"API token (new; shown once, stored in {token.path}): {secret}", flush=True)
        api = _Api(base, secret)
        speed = 0.0 if opt.fast else 1.0
        created = await api.json(
            "POST",
            "/api/sessions",
            {
                "athlete": DEMO_ATHLETE,
                "source": {
                    "kind": "simulated",
                    "profile": opt.profile,
                    "speed": speed,
                    "seed": opt.seed,
                },
            },
        )
        sid = created["id"]
        pace = "as fast as possible" if opt.fast else "in real time (about 2.5 min; Ctrl-C stops)"
        print(f"session {sid}: simulated athlete, profile {opt.profile!r}, {pace}")
        # The token is printed once, when generated (above); the page asks for it once and
        # keeps it in the browser.
        where = "$SQUATSENSE_TOKEN" if token.origin is TokenOrigin.ENV else f"the file {token.path}"
        print(f"live page: {base}/sessions/{sid}/live  (API token: in {where})")
        print("reps and cues as they happen (session time):", flush=True)
        printer = _Printer()
        code, reason = await _follow(
            f"{base.replace('http', 'ws', 1)}/api/sessions/{sid}/live", secret, printer
        )
        if server.should_exit:  # Ctrl-C: the service stopped the session and kept it
            print(f"interrupted: session {sid} was stopped and is kept in {settings.data_dir}")
            return 130
        if code != 1000:
            detail = f"{code} {reason}".strip()
            raise DemoError(f"the live stream closed unexpectedly ({detail})")
        session = await api.json("GET", f"/api/sessions/{sid}")
        summary = await api.json("GET", f"/api/sessions/{sid}/summary")
        out = opt.out_dir or settings.data_dir / "demo" / sid
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        for name in ("reps.csv", "angles.csv", "raw.csv"):
            (out / name).write_text(await api.text(f"/api/sessions/{sid}/{name}"), encoding="utf-8")
        coach = await api.text(f"/api/athletes/{session['athlete_id']}/reps.csv")
        (out / "athlete-reps.csv").write_text(coach, encoding="utf-8")
        print(
            f"session {sid} {session['state']} ({session['reason']}): {summary['reps']} reps "
            f"in {len(summary['sets'])} set(s), {session['cue_count']} cues, "
            f"{printer.angle_frames} angle frames received"
        )
        print("advice:")
        for line in summary["advice"]:
            print(f"  - {line}")
        print(f"  ({summary['disclaimer']})")
        print(f"wrote {out}/: summary.json, reps.csv, angles.csv, raw.csv, athlete-reps.csv")
        if not opt.fast:
            # Keep serving, so the summary page and the live page's links still work.
            print(f"summary page: {base}/sessions/{sid}")
            print("the service keeps running for the pages; Ctrl-C to quit", flush=True)
            while not server.should_exit:
                await asyncio.sleep(0.5)
        return 0
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        sock.close()
