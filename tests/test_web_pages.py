"""The web pages in a real browser (Debian's chromium through Playwright) against a real
uvicorn server with simulated sessions.

What each test shows:

- the live page, started from the home page's form: the rep counter climbs, cues appear,
  are spoken and kept in a history; a network blip is survived (reconnect with backoff,
  the snapshot fills the gap, nothing is counted twice); the session ends on the page;
- stopping a session from the live page;
- a sensor that drops out gets a banner, and another when it is back;
- the summary page: per-rep table with faulty reps highlighted, per-set charts, advice
  and the not-a-medical-device note, and every CSV download;
- an athlete's history page;
- a wrong token is refused with a clear message, and the right one then works;
- accessibility basics at phone width (375 px): accessible names, no sideways scroll,
  text contrast;
- the live model's de-duplication, and the pages' HTTP side (headers, no path escape).

Screenshots land in ``test-artifacts/web/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import AUTH, TOKEN, make_app
from web_helpers import (
    A11Y_CHECK_JS,
    ARTIFACTS,
    CONTRAST_JS,
    BlipProxy,
    ThreadServer,
    new_context,
    playwright_chromium,
)

SHOTS = ARTIFACTS / "web"
PHONE = {"width": 375, "height": 812}

#: Records what the page speaks (the real speech synthesis is replaced), the banners it
#: shows and its connection line, so short-lived states are seen however fast they pass.
SPY_JS = """
(() => {
  window.__spoken = [];
  window.__banners = [];
  window.__conn = [];
  if (window.speechSynthesis) {
    window.speechSynthesis.speak = (u) => {
      window.__spoken.push(u.text);
      setTimeout(() => u.dispatchEvent(new Event("end")), 5);
    };
    window.speechSynthesis.cancel = () => {};
  }
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType === 1 && n.classList.contains("banner")) {
          window.__banners.push(n.className + ": " + n.textContent);
        }
      }
      if (r.target && r.target.id === "conn") window.__conn.push(r.target.textContent);
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_session) -> Iterator[ThreadServer]:
    srv = ThreadServer(make_app(tmp_path_factory.mktemp("web-data"), default_session)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, trust_env=False, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_chromium() as c:
        yield c


@pytest.fixture
def browser(chromium, tmp_path) -> Iterator[Any]:
    """A fresh browser (its own user-data-dir), phone-sized."""
    ctx = new_context(chromium, tmp_path / "profile", viewport={"width": 412, "height": 915})
    ctx.add_init_script(SPY_JS)
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


class Console:
    """Errors a page reported (console errors and uncaught exceptions)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def unexpected(self, *allowed: str) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in allowed)]


def start(http: httpx.Client, athlete: str, **source: Any) -> str:
    body = {"athlete": athlete, "source": {"kind": "simulated", **source}}
    r = http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_ended(http: httpx.Client, sid: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        session = http.get(f"/api/sessions/{sid}").json()
        if not session["live"]:
            return session
        time.sleep(0.1)
    raise AssertionError(f"session {sid} did not end")


@pytest.fixture(scope="module")
def finished(http) -> dict[str, Any]:
    """A whole simulated session of the default athlete, as fast as possible, ended."""
    sid = start(http, "Coach's athlete", profile="default", speed=0)
    return wait_ended(http, sid)


def js_number(page: Any, expression: str) -> float:
    return float(page.evaluate(f"() => {expression}"))


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --------------------------------------------------------------------------- live


@pytest.mark.timeout(120)
def test_live_page_counts_reps_speaks_cues_and_survives_a_network_blip(server, http, browser):
    proxy = BlipProxy(server.port)  # the page talks to the service through it
    try:
        page = browser.new_page()
        console = Console(page)
        page.goto(f"{proxy.url}/?token={TOKEN}")
        assert "token" not in page.url  # stored, then taken out of the address bar
        page.wait_for_selector('#profile option[value="default"]', state="attached")
        page.fill("#athlete", "Live athlete")
        page.select_option("#kind", "simulated")
        page.select_option("#profile", "default")
        page.select_option("#speed", "8")
        page.click("#start")
        page.wait_for_url(re.compile(r"/sessions/\w+/live$"))
        sid = page.url.rstrip("/").split("/")[-2]
        page.wait_for_selector("#conn.ok")

        # The rep counter climbs; a cue shows up, in the history and spoken aloud.
        page.wait_for_function("() => window.squatsenseLive.model.reps.size >= 2")
        first = js_number(page, "window.squatsenseLive.model.reps.size")
        page.wait_for_function(f"() => window.squatsenseLive.model.reps.size > {first}")
        assert int(page.text_content("#rep-value")) >= 1
        page.wait_for_selector("#cue-history li")
        assert page.text_content("#cue-text").strip()
        page.wait_for_function("() => window.__spoken.length > 0")
        spoken = page.evaluate("() => window.__spoken")
        cue_texts = page.evaluate("() => window.squatsenseLive.model.cueList.map((c) => c.text)")
        assert set(spoken) <= set(cue_texts)

        # A network blip: every connection is cut and new ones refused for a second.
        before = js_number(page, "window.squatsenseLive.model.snapshots")
        proxy.cut(hold_s=1.0)
        page.wait_for_function(
            f"() => window.squatsenseLive.model.snapshots > {before} "
            "&& document.getElementById('conn').textContent === 'Live'"
        )
        conn_log = page.evaluate("() => window.__conn")
        assert any(t.startswith("Connection lost") for t in conn_log), conn_log

        # Screenshot once the butt-wink onset depth is known (set 2), marked on the trace.
        page.wait_for_function(
            "() => Number.isFinite(window.squatsenseLive.model.onsetDepthDeg)", timeout=60_000
        )
        page.wait_for_timeout(300)
        shot(page, "live-page.png")

        page.wait_for_selector("#ended:not([hidden])", timeout=90_000)
        session = http.get(f"/api/sessions/{sid}").json()
        assert session["state"] == "finished"
        model = page.evaluate(
            """() => {
              const m = window.squatsenseLive.model;
              const items = [...document.querySelectorAll('#cue-history li')];
              return { reps: m.reps.size, cues: m.cues.size,
                       keys: items.map((li) => li.dataset.key) };
            }"""
        )
        # Nothing lost and nothing twice, across the blip (the snapshot repeated all).
        assert model["reps"] == session["rep_count"] > 10
        assert model["cues"] == session["cue_count"] > 0
        assert len(model["keys"]) == len(set(model["keys"]))
        assert page.text_content("#rep-total") == f"{session['rep_count']} reps in all"
        assert f"({session['cue_count']} in all)" in page.text_content("#history-title")
        spoken = page.evaluate("() => window.__spoken")
        assert 0 < len(spoken) <= session["cue_count"]
        assert page.get_attribute("#summary-button", "href") == f"/sessions/{sid}"
        assert console.unexpected("WebSocket", "Failed to load resource", "ERR_") == []
    finally:
        proxy.close()


def test_a_session_is_stopped_from_the_live_page(server, http, browser):
    sid = start(http, "Stopper", profile="default", speed=1)
    page = browser.new_page()
    console = Console(page)
    page.goto(f"{server.url}/sessions/{sid}/live?token={TOKEN}")
    page.wait_for_selector("#conn.ok")
    page.click("#stop")
    assert page.text_content("#stop") == "Tap again to stop"  # one tap is not enough
    assert http.get(f"/api/sessions/{sid}").json()["live"] is True
    page.click("#stop")
    page.wait_for_selector("#ended:not([hidden])")
    session = http.get(f"/api/sessions/{sid}").json()
    assert (session["state"], session["reason"]) == ("finished", "stopped by request")
    assert page.is_disabled("#stop")
    assert console.unexpected() == []


def test_a_dropped_sensor_gets_a_banner_and_another_when_it_is_back(server, http, browser):
    # The "dropout" athlete's right shin sensor is silent for 3 s in set 2.
    sid = start(http, "Dropout", profile="dropout", speed=12)
    page = browser.new_page()
    console = Console(page)
    page.goto(f"{server.url}/sessions/{sid}/live?token={TOKEN}")
    page.wait_for_function("() => window.__banners.some((b) => b.includes('back'))", timeout=60_000)
    banners = page.evaluate("() => window.__banners")
    assert any("drop" in b and "Right shin sensor dropped out" in b for b in banners), banners
    assert any("Right shin sensor is back" in b for b in banners), banners
    # The sensor panel shows every placement with its rate and loss.
    rows = page.locator("#sensor-rows tr")
    assert rows.count() == 4
    assert "Hz" in page.text_content('#sensor-rows tr[data-placement="shin_right"]')
    http.post(f"/api/sessions/{sid}/stop")
    assert console.unexpected() == []


def test_the_live_model_shows_each_rep_and_cue_once(server, browser):
    page = browser.new_page()
    page.goto(f"{server.url}/static/app.css")  # any page of the origin, for the import
    result = page.evaluate(
        """async () => {
          const { LiveModel } = await import("/static/js/livestate.js");
          const m = new LiveModel();
          const rep1 = { set: 1, rep: 1, cues: [] };
          const rep2 = { set: 1, rep: 2, cues: ["butt_wink"] };
          const cue = { code: "butt_wink", set: 1, rep: 2, t_s: 9.5, onset_depth_deg: 26.5,
                        severity: "warning", text: "Stop a little higher." };
          const sensors = [{ placement: "shin_left", connected: true, samples: 10 }];
          const a = m.apply({ type: "status", event: "snapshot", state: "running", set: 1,
                              reps: [rep1], cues: [], sensors, placements: ["shin_left"] });
          const b = m.apply({ type: "rep", ...rep1 });         // repeated: nothing new
          const c = m.apply({ type: "cue", ...cue });           // new, live: fresh
          const d = m.apply({ type: "status", event: "snapshot", state: "running", set: 1,
                              reps: [rep1, rep2], cues: [cue], sensors });  // a reconnect
          const e = m.apply({ type: "sensor", kind: "disconnected", placement: "shin_left" });
          const f = m.apply({ type: "sensor", kind: "connected", placement: "shin_left" });
          const g = m.apply({ type: "bottom", set: 2, rep: 1 });
          const kinds = (events) => events.map((x) => x.kind + (x.fresh === false ? ":old" : ""));
          const before = { reps: m.reps.size, cues: m.cues.size, onset: m.onsetDepthDeg,
                           set: m.currentSet, inSet: m.repsInSet };
          // That bottom's rep is cancelled: its cue goes, and the set it opened.
          m.apply({ type: "cue", ...cue, set: 2, rep: 1, t_s: 20.0, onset_depth_deg: 10.0 });
          const h = m.apply({ type: "rep_cancelled", set: 2, rep: 1, t_s: 30.0 });
          return { a: kinds(a), b: kinds(b), c: kinds(c), d: kinds(d), e: kinds(e), f: kinds(f),
                   ...before, g: kinds(g), h: kinds(h),
                   after: [m.cues.size, m.onsetDepthDeg, m.currentSet, m.repsInSet] };
        }"""
    )
    assert result["a"] == ["rep:old", "snapshot"]
    assert result["b"] == []
    assert result["c"] == ["cue"]
    assert result["d"] == ["rep:old", "snapshot"]  # only the rep missed during the blip
    assert (result["e"], result["f"]) == (["dropped"], ["back"])
    assert (result["reps"], result["cues"], result["onset"]) == (2, 1, 26.5)
    assert (result["set"], result["inSet"]) == (2, 0)  # a bottom of set 2: a new set began
    assert result["h"] == ["cancelled"]
    assert result["after"] == [1, 26.5, 1, 2]  # as before that bottom


# --------------------------------------------------------------------------- summary


def test_summary_page_table_charts_advice_and_csv_downloads(
    server, http, chromium, tmp_path, finished
):
    sid = finished["id"]
    summary = http.get(f"/api/sessions/{sid}/summary").json()
    reps_csv = http.get(f"/api/sessions/{sid}/reps.csv").text
    faulty = sum(1 for line in reps_csv.splitlines()[1:] if line.split(",")[14])
    ctx = new_context(chromium, tmp_path / "profile", viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        console = Console(page)
        page.goto(f"{server.url}/sessions/{sid}?token={TOKEN}")
        page.wait_for_selector("table.reps-table")
        assert page.locator("table.reps-table tbody tr").count() == finished["rep_count"]
        assert page.locator("table.reps-table tbody tr.fault").count() == faulty > 0
        header = [t.strip() for t in page.locator("table.reps-table thead th").all_text_contents()]
        assert len(header) == len(reps_csv.splitlines()[0].split(","))
        sets = len(summary["sets"])
        assert page.locator("section.set").count() == sets == 3
        assert page.locator("section.set figure.chart svg[role=img]").count() >= 6 * sets
        assert page.locator("svg circle.fault-ring").count() > 0
        advice = page.locator("ol.advice li").all_text_contents()
        assert advice == summary["advice"]
        assert page.text_content(".disclaimer") == summary["disclaimer"]
        assert "not a medical device" in summary["disclaimer"]
        assert "Fatigue" in page.text_content("#main")  # a trend call-out of set 3
        assert page.locator("#left-right").count() == 1
        shot(page, "summary-page.png")

        # Every CSV: fetched with the token, saved through a Blob link.
        expected = {
            "reps.csv": "set,rep,t_start_s",
            "angles.csv": "time_s,pelvic_tilt_deg",
            "raw.csv": "time_s,sensor,acc_x",
            "athlete-reps.csv": "athlete,session_id,session_date_utc",
        }
        for name, head in expected.items():
            with page.expect_download() as info:
                page.click(f'button[data-file="{name}"]')
            download = info.value
            assert download.suggested_filename.endswith(name.split("-")[-1])
            text = Path(download.path()).read_text(encoding="utf-8")
            assert text.startswith(head), (name, text[:80])
            assert len(text.splitlines()) > 1
        assert "Saved" in page.text_content("#download-status")

        # The athlete's history, linked from the summary.
        page.click("h1 a")
        page.wait_for_selector("table.sessions-table")
        assert page.locator("table.sessions-table tbody tr").count() >= 1
        assert page.locator("figure.chart svg").count() >= 5
        shot(page, "athlete-page.png")
        assert console.unexpected() == []
    finally:
        ctx.close()


# --------------------------------------------------------------------------- token


def test_a_wrong_token_is_refused_with_a_clear_message(server, http, browser):
    sid = start(http, "Token", profile="default", speed=0)
    page = browser.new_page()
    console = Console(page)
    page.goto(f"{server.url}/?token=not-the-token")
    page.wait_for_selector("#token-panel:not([hidden])")
    message = page.text_content("#token-message")
    assert "refused" in message and "401" in message
    assert page.locator("#sessions li").count() == 0
    # The right token, entered in the form, is kept and used.
    page.fill("#token-input", TOKEN)
    page.click("#token-save")
    page.wait_for_selector("#token-panel", state="hidden")
    page.wait_for_selector(f'#sessions li[data-session="{sid}"]')
    assert page.evaluate("() => localStorage.getItem('squatsense.token')") == TOKEN
    # Every page says so too, the live page before it opens any WebSocket.
    for path in (f"/sessions/{sid}/live", f"/sessions/{sid}", "/athletes/1"):
        page.goto(f"{server.url}{path}?token=wrong")
        page.wait_for_selector("#token-panel:not([hidden])")
        assert "refused" in page.text_content("#token-message")
    assert console.unexpected("401") == []


# --------------------------------------------------------------------------- a11y


#: Text whose contrast is measured on each page (selector → must exist).
CONTRAST_TARGETS = {
    "/": ["h1", "label", "#start", "#change-token", ".profile-help", "#sessions li .who", ".badge"],
    "live": [
        "#rep-value",
        "#set-value",
        ".counter .label",
        "#cue-text",
        "#cue-meta",
        "#cue-history .text",
        "#cue-history .sev",
        "#sensor-rows th",
        "#sensor-rows td",
        "#sound",
        "#conn",
        ".trace h3",
    ],
    "summary": [
        "h1",
        "ol.advice li",
        ".disclaimer",
        ".fact dt",
        ".fact dd",
        "table.reps-table th",
        "tr.fault td",
        "table.reps-table td",
        "figcaption .chart-title",
        "figcaption .muted",
        ".downloads button",
    ],
    "athlete": ["h1", "table.sessions-table td", "figcaption .chart-title", ".downloads button"],
}


def contrast_problems(page: Any, selectors: list[str]) -> list[str]:
    problems = []
    for selector in selectors:
        elements = page.locator(selector)
        assert elements.count() > 0, f"{selector} is not on the page"
        for k in range(min(elements.count(), 5)):
            element = elements.nth(k)
            if not element.is_visible() or element.is_disabled():
                continue
            c = element.evaluate(CONTRAST_JS)
            need = 3.0 if c["large"] else 4.5
            if c["ratio"] < need:
                problems.append(f"{selector}: {c['ratio']:.2f} < {need} ({c['fg']} on {c['bg']})")
    return problems


@pytest.mark.timeout(120)
def test_accessibility_basics_at_phone_width(server, chromium, tmp_path, finished):
    sid = finished["id"]
    pages = {
        "/": "/",
        "live": f"/sessions/{sid}/live",
        "summary": f"/sessions/{sid}",
        "athlete": f"/athletes/{finished['athlete_id']}",
    }
    ready = {
        "/": "#sessions li",
        "live": "#ended:not([hidden])",
        "summary": "table.reps-table",
        "athlete": "table.sessions-table",
    }
    ctx = new_context(chromium, tmp_path / "profile", viewport=PHONE)
    problems: list[str] = []
    try:
        page = ctx.new_page()
        console = Console(page)
        page.goto(f"{server.url}/?token={TOKEN}")
        for key, path in pages.items():
            page.goto(f"{server.url}{path}")
            page.wait_for_selector(ready[key])
            page.wait_for_timeout(200)
            problems += [f"{key}: {p}" for p in page.evaluate(A11Y_CHECK_JS)]
            problems += [f"{key}: {p}" for p in contrast_problems(page, CONTRAST_TARGETS[key])]
            if key == "live":
                # Both cue colours, and both banners, measured too.
                for severity in ("warning", "info"):
                    page.evaluate(
                        "(s) => window.squatsenseLive.showCue({severity: s, code: 'butt_wink', "
                        "set: 2, rep: 3, text: 'Pelvis tucked under at the bottom.'})",
                        severity,
                    )
                    problems += [
                        f"live {severity} cue: {p}"
                        for p in contrast_problems(page, ["#cue-text", "#cue-meta"])
                    ]
                page.evaluate(
                    "() => { const l = window.squatsenseLive; "
                    "l.bannerDropped({placement: 'shin_left'}); "
                    "l.bannerBack({placement: 'shin_right'}); }"
                )
                problems += [f"live: {p}" for p in contrast_problems(page, [".banner"])]
                problems += [f"live: {p}" for p in page.evaluate(A11Y_CHECK_JS)]
            name = {"/": "home"}.get(key, key)
            shot(page, f"{name}-375px.png")
        # The token panel, as a first-time visitor sees it.
        page.evaluate("() => localStorage.clear()")
        page.goto(f"{server.url}/")
        page.wait_for_selector("#token-panel:not([hidden])")
        problems += [f"token panel: {p}" for p in page.evaluate(A11Y_CHECK_JS)]
        problems += contrast_problems(page, ["#token-message", "#token-help", "#token-save"])
        assert console.unexpected("401") == []
    finally:
        ctx.close()
    assert problems == []


# --------------------------------------------------------------------------- HTTP side


def test_pages_need_no_token_and_carry_a_strict_policy(server):
    with httpx.Client(base_url=server.url, trust_env=False) as c:
        for path, kind in (
            ("/", "text/html"),
            ("/sessions/abc/live", "text/html"),
            ("/sessions/abc", "text/html"),
            ("/athletes/1", "text/html"),
            ("/static/js/live.js", "text/javascript"),
            ("/static/app.css", "text/css"),
        ):
            r = c.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith(kind)
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff"
        for path in (
            "/static/%2e%2e/_routes/pages.py",  # out of the folder
            "/static/..%2f_app.py",
            "/static/js/nothing.js",
            "/static/",
        ):
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.json()["error"] == "not_found"
        assert c.get("/api/profiles").status_code == 401
        names = [p["name"] for p in c.get("/api/profiles", headers=AUTH).json()["profiles"]]
        assert names[0] == "default" and "dropout" in names
        paths = c.get("/openapi.json").json()["paths"]
        assert "/api/profiles" in paths and not any(p.startswith("/sessions") for p in paths)
