"""``squatsense report``: a session's summary as one self-contained HTML file.

The file shows what the summary page (``/sessions/{id}``) shows, drawn by the same
JavaScript (``service/static/js/summary_view.js`` and the modules it imports), so a coach
can email it and open it anywhere: everything is inline (CSS, script, the session's data
as JSON, charts drawn as SVG), and a Content-Security-Policy in the file itself forbids
any network access. Every text that came from a user (an athlete's name) reaches the
page through ``textContent`` or :func:`html.escape`, never as markup.

    squatsense report a1b2c3d4e5f6 --out report.html [--data DIR]

It reads the service's data directory (``--data``, default as ``squatsense serve``:
``$SQUATSENSE_DATA`` or the per-user data dir) and works while the service runs.

Inlining ES modules
-------------------
Browsers do not run ``import`` between inline scripts, so :func:`bundle_modules` wraps
each module in a function whose result is its exports, in dependency order. It accepts
only what the modules' header comment promises (one-line ``import { a, b } from
"./x.js";``, top-level ``export function|const|class``) and raises
:class:`ReportError` on anything else, so a module that grows another form of import
fails the report's tests instead of producing a broken file.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The modules the report inlines, each after the ones it imports.
REPORT_MODULES: tuple[str, ...] = ("format.js", "charts.js", "summary_view.js")

#: The report's own policy: inline style and script only; no fetch, image or font loads.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_IMPORT = re.compile(r'^import \{([\w\s,]+)\} from "\./([\w.-]+\.js)";[ \t]*$', re.MULTILINE)
_EXPORT = re.compile(r"^export (function|const|class) (\w+)", re.MULTILINE)
_LEFTOVER = re.compile(r"^\s*(import|export)\b", re.MULTILINE)


class ReportError(Exception):
    """The report cannot be made (no data directory, unknown session, a module form)."""


def static_dir() -> Path:
    """Where the web pages' files are (``service/static``)."""
    from service._routes.pages import STATIC_DIR

    return STATIC_DIR


def bundle_modules(js_dir: Path, names: tuple[str, ...] = REPORT_MODULES) -> str:
    """One classic script defining ``__modules[name]`` (its exports) for each module.

    Parameters
    ----------
    js_dir : Path
        The folder of the modules.
    names : tuple of str
        File names, each after the modules it imports.

    Returns
    -------
    str
        JavaScript text, safe inside ``<script>`` (no ``</script``).

    Raises
    ------
    ReportError
        A module imports one not bundled before it, or uses an import or export form
        this bundler does not handle.
    """
    parts = ['"use strict";', "const __modules = {};"]
    done: set[str] = set()
    for name in names:
        source = (js_dir / name).read_text(encoding="utf-8")
        exports: list[str] = []

        def imported(m: re.Match[str], name: str = name) -> str:
            if m.group(2) not in done:
                raise ReportError(f"{name} imports {m.group(2)}, which is not bundled before it")
            return f"const {{{m.group(1)}}} = __modules[{json.dumps(m.group(2))}];"

        def exported(m: re.Match[str], exports: list[str] = exports) -> str:
            exports.append(m.group(2))
            return f"{m.group(1)} {m.group(2)}"

        body = _EXPORT.sub(exported, _IMPORT.sub(imported, source))
        leftover = _LEFTOVER.search(body)
        if leftover is not None:
            line = body[leftover.start() :].strip().splitlines()[0]
            raise ReportError(f"{name}: cannot inline {line!r} (see format.js, module rules)")
        parts.append(
            f"__modules[{json.dumps(name)}] = (() => {{\n{body}\n"
            f"return {{ {', '.join(exports)} }};\n}})();"
        )
        done.add(name)
    return "\n".join(parts).replace("</script", "<\\/script")


def _json_for_script(doc: object) -> str:
    # Inside <script type="application/json">, only "</script" could end the element
    # early; escaping every <, > and & makes any text harmless there.
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True)
class ReportData:
    """What the report shows: the session, its summary (as the API gives it), reps.csv."""

    session: dict[str, Any]
    summary: dict[str, Any]
    reps_csv: str

    def to_json(self) -> dict[str, Any]:
        """The document embedded in the report."""
        return {"session": self.session, "summary": self.summary, "reps_csv": self.reps_csv}


def _nan(value: object) -> object:
    return float("nan") if value is None else value


def _summary_so_far(reps: list[dict[str, Any]], cues: list[dict[str, Any]], has_lumbar: bool):
    """The summary of a session that has none stored yet (it is still running)."""
    from processing import Cue, RepMetrics, summarize

    def build(cls: type, doc: dict[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}
        kwargs = {k: _nan(v) for k, v in doc.items() if k in known}
        if "cues" in kwargs:
            kwargs["cues"] = tuple(doc.get("cues") or ())
        return cls(**kwargs)

    return summarize(
        [build(RepMetrics, r) for r in reps],
        [build(Cue, c) for c in cues],
        has_lumbar=has_lumbar,
    ).to_dict()


def load_report_data(data_dir: Path, session_id: str) -> ReportData:
    """Read a session, its summary and its reps from the service's database.

    Raises
    ------
    ReportError
        No database in `data_dir`, or no such session.
    """
    from service import ServiceError, Settings, Store
    from service._csv import reps_csv_text

    database = Settings(data_dir=data_dir).database_path
    if not database.is_file():
        raise ReportError(f"no squatsense data in {data_dir} (no {database.name})")
    try:
        store = Store.open(database)
    except ServiceError as exc:
        raise ReportError(str(exc)) from exc
    try:
        row = store.get_session(session_id)
        if row is None:
            recent = ", ".join(f"{r.id} ({r.athlete})" for r in store.list_sessions()[:5])
            hint = f"; recent sessions: {recent}" if recent else "; there are no sessions"
            raise ReportError(f"unknown session {session_id!r} in {data_dir}{hint}")
        reps = store.reps(row.id)
        stored = store.summary(row.id)
        if stored is not None:
            summary, final, computed_from = stored.data, True, stored.computed_from
        else:
            has_lumbar = "lumbar" in row.placements
            summary = _summary_so_far(reps, store.cues(row.id), has_lumbar)
            final, computed_from = False, "live"
    finally:
        store.close()
    session = {
        "id": row.id,
        "athlete": row.athlete,
        "athlete_id": row.athlete_id,
        "state": row.state,
        "reason": row.reason,
        "source": row.source,
        "created_at": row.created_at,
        "ended_at": row.ended_at,
        "duration_s": round(row.duration_s, 3),
        "placements": list(row.placements),
        "rep_count": row.rep_count,
        "cue_count": row.cue_count,
    }
    full_summary = {
        **summary,
        "session_id": row.id,
        "athlete": row.athlete,
        "state": row.state,
        "final": final,
        "computed_from": computed_from,
    }
    return ReportData(session, full_summary, reps_csv_text(reps))


_BOOT = """
(() => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const { parseCsv } = __modules["format.js"];
  const { renderSummary } = __modules["summary_view.js"];
  renderSummary(document.getElementById("summary"), {
    session: data.session,
    summary: data.summary,
    reps: parseCsv(data.reps_csv).rows,
  });
})();
"""


def render_report(data: ReportData, *, generated_at: datetime | None = None) -> str:
    """The report as one HTML document (str)."""
    from squatsense import __version__

    root = static_dir()
    css = (root / "app.css").read_text(encoding="utf-8").replace("</style", "<\\/style")
    script = bundle_modules(root / "js") + "\n" + _BOOT
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    esc = html.escape
    athlete = esc(str(data.session["athlete"]))
    date = esc(str(data.session["created_at"])[:16].replace("T", " "))
    advice = "".join(f"<li>{esc(str(a))}</li>" for a in data.summary.get("advice", []))
    onset = data.summary.get("butt_wink_onset_depth_deg")
    onset_text = (
        f"<p>Butt-wink onset depth: {onset:.0f}° of shin angle.</p>"
        if isinstance(onset, int | float) and math.isfinite(onset)
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{esc(REPORT_CSP)}">
<title>squatsense report · {athlete} · {date}</title>
<style>
{css}
</style>
</head>
<body class="page-report">
<header class="topbar"><span class="brand">squatsense</span><span>session report</span></header>
<main id="main">
<div id="summary">
<noscript>
<h1>{athlete} · {date} UTC</h1>
<p>{esc(str(data.summary.get("reps", 0)))} reps. Open this file in a web browser with
JavaScript on to see every rep and the charts.</p>
{onset_text}
<h2>What to work on</h2>
<ol class="advice">{advice}</ol>
<p class="disclaimer">{esc(str(data.summary.get("disclaimer", "")))}</p>
</noscript>
</div>
<p class="report-foot">Made by squatsense {esc(__version__)} on {esc(when)} from session
{esc(str(data.session["id"]))}. This file is self-contained: it loads nothing from anywhere.</p>
</main>
<script type="application/json" id="report-data">{_json_for_script(data.to_json())}</script>
<script>
{script}
</script>
</body>
</html>
"""


def write_report(session_id: str, out: Path, data_dir: Path | None = None) -> ReportData:
    """Write the report of `session_id` to `out`; returns what it shows."""
    from service import Settings

    if data_dir is None:  # as the service: $SQUATSENSE_DATA, else the per-user data dir
        data_dir = Settings().data_dir
    data = load_report_data(data_dir, session_id)
    out.write_text(render_report(data), encoding="utf-8")
    return data


def cmd_report(args: argparse.Namespace) -> int:
    """``squatsense report SESSION --out FILE``."""
    from squatsense.cli import CliError

    out = args.out or Path(f"squatsense-report-{args.session}.html")
    try:
        data = write_report(args.session, out, args.data)
    except ReportError as exc:
        raise CliError(f"report: {exc}") from exc
    summary = data.summary
    so_far = "" if summary["final"] else " (summary so far: the session is still running)"
    print(
        f"wrote {out}: {data.session['athlete']}, {summary['reps']} reps in "
        f"{len(summary['sets'])} set(s){so_far}"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``report`` to the ``squatsense`` parser."""
    report = subparsers.add_parser(
        "report", help="write a session's summary as one self-contained HTML file"
    )
    report.add_argument("session", help="the session id (as in the web pages and the API)")
    report.add_argument(
        "--out", type=Path, help="HTML file to write (default: squatsense-report-SESSION.html)"
    )
    report.add_argument(
        "--data", type=Path, help="the service's data directory (default as for serve)"
    )
    report.set_defaults(func=cmd_report)
