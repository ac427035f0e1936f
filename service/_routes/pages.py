"""The web pages: the live view, the session summary, an athlete's history, and their files.

The pages are static HTML shells; their ES modules (``service/static/js``) fetch the data
from ``/api`` with the token the user entered once (kept in the browser's localStorage).
So the pages themselves need no token, and nothing secret is ever in them.

=====================================  =============================================
``GET /``                              start a session, or pick one (live or ended)
``GET /sessions/{id}/live``            the live view (rep counter, cues, traces)
``GET /sessions/{id}``                 the summary (reps table, charts, advice, CSVs)
``GET /athletes/{id}``                 an athlete's sessions over time
``GET /static/{path}``                 the pages' CSS and JavaScript
=====================================  =============================================

Every answer carries a Content-Security-Policy that allows this origin only (scripts,
styles, fetches and the WebSocket), so no text that reaches a page can load or run
anything else, and the pages work on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException

#: The pages' files (HTML, CSS, ES modules), shipped inside the ``service`` package.
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

#: Content types by suffix; only these files are served (ES modules need a JS type).
MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

#: Same origin only; ``'self'`` covers this origin's ws:/wss: too (CSP level 3).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time (cheap: ETag), so an upgraded service never runs old modules.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _file(relative: str) -> FileResponse:
    root = STATIC_DIR.resolve()
    path = (root / relative).resolve()
    # Only files inside STATIC_DIR with a known suffix: no "..", no symlinks out.
    if not path.is_relative_to(root) or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(404, f"no page file {relative!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=_HEADERS)


PageId = Annotated[str, PathParam(min_length=1, max_length=64)]


@router.get("/")
async def home_page() -> FileResponse:
    """Start a session, or pick one."""
    return _file("index.html")


@router.get("/sessions/{session_id}/live")
async def live_page(session_id: PageId) -> FileResponse:
    """The live view of a session (its id is read by the page's script from the URL)."""
    return _file("live.html")


@router.get("/sessions/{session_id}")
async def summary_page(session_id: PageId) -> FileResponse:
    """The summary of a session."""
    return _file("session.html")


@router.get("/athletes/{athlete_id}")
async def athlete_page(athlete_id: PageId) -> FileResponse:
    """An athlete's sessions over time, for a coach."""
    return _file("athlete.html")


@router.get("/static/{path:path}")
async def static_file(path: str) -> FileResponse:
    """The pages' CSS and JavaScript."""
    return _file(path)
