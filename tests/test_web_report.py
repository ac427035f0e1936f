"""``squatsense report``: one self-contained HTML file with the session's summary.

What each test shows:

- the file needs nothing from anywhere (opened in chromium with every request other
  than the file itself refused), shows the same summary as the page (rep table with
  faulty reps, per-set charts, advice, the not-a-medical-device note), and an athlete
  name full of markup stays text; without JavaScript the advice is still there;
- a running session gives the summary so far;
- bad input is one line and exit code 2, and no database is created by asking;
- the inliner refuses module forms it cannot turn into one script.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import AUTH, make_app
from web_helpers import ARTIFACTS, ThreadServer, new_context, playwright_chromium

from squatsense._report import ReportError, bundle_modules
from squatsense.cli import main

#: The only elements the report's HTML itself holds (the rest is drawn by its script).
ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "header", "span", "main", "div"),
    *("noscript", "h1", "h2", "p", "ol", "li", "script"),
}


class Tags(HTMLParser):
    """Every element of an HTML text, and any attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(tag)
        self.links += [(tag, k) for k, _ in attrs if k in ("src", "href", "srcset", "action")]


#: An athlete name that would run script if it were ever treated as markup.
NASTY = '<img src=x onerror="alert(1)"> & </script><b>"Bob"</b>'


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report-data")


@pytest.fixture(scope="module")
def server(data_dir, default_session) -> Iterator[ThreadServer]:
    srv = ThreadServer(make_app(data_dir, default_session)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, trust_env=False, timeout=60) as c:
        yield c


def start(http: httpx.Client, athlete: str, speed: float) -> str:
    body = {"athlete": athlete, "source": {"kind": "simulated", "speed": speed}}
    r = http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_for(http: httpx.Client, sid: str, done: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        session = http.get(f"/api/sessions/{sid}").json()
        if done(session):
            return session
        time.sleep(0.1)
    raise AssertionError(f"session {sid}: timed out")


@pytest.fixture(scope="module")
def finished(http) -> dict[str, Any]:
    sid = start(http, NASTY, speed=0)
    return wait_for(http, sid, lambda s: not s["live"])


@pytest.mark.timeout(120)
def test_the_report_is_one_self_contained_file_showing_the_summary(
    data_dir, http, finished, tmp_path, capsys
):
    sid = finished["id"]
    out = tmp_path / "report.html"
    assert main(["report", sid, "--data", str(data_dir), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: ")
    text = out.read_text(encoding="utf-8")

    # Nothing refers outside the file; user text is never markup.
    tags = Tags()
    tags.feed(text)
    assert set(tags.found) <= ALLOWED_TAGS, tags.found
    assert tags.links == []
    assert not re.search(r"url\(|@import", text)
    assert "<img src=x" not in text and "</script><b>" not in text
    assert f"<title>squatsense report · {html.escape(NASTY)}" in text
    assert text.count("<script") == 2  # the data (JSON) and the inlined modules

    summary = http.get(f"/api/sessions/{sid}/summary").json()
    reps_csv = http.get(f"/api/sessions/{sid}/reps.csv").text
    faulty = sum(1 for line in reps_csv.splitlines()[1:] if line.split(",")[14])
    with playwright_chromium() as chromium:
        ctx = new_context(chromium, tmp_path / "profile", viewport={"width": 1000, "height": 900})
        try:
            requests: list[str] = []
            refused: list[str] = []

            def only_the_file(route: Any) -> None:
                url = route.request.url
                requests.append(url)
                if url == out.as_uri():
                    route.continue_()
                else:
                    refused.append(url)
                    route.abort()

            ctx.route("**/*", only_the_file)
            page = ctx.new_page()
            errors: list[str] = []
            dialogs: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(out.as_uri())
            page.wait_for_selector("table.reps-table")
            assert page.locator("table.reps-table tbody tr").count() == finished["rep_count"]
            assert page.locator("tr.fault").count() == faulty > 0
            assert page.locator("section.set").count() == len(summary["sets"]) == 3
            assert page.locator("figure.chart svg[role=img]").count() >= 18
            assert page.locator("ol.advice li").all_text_contents() == summary["advice"]
            assert page.text_content(".disclaimer") == summary["disclaimer"]
            assert NASTY in page.text_content("h1")  # shown as the text it is
            assert page.locator("#summary img, #summary b").count() == 0
            assert page.locator("a").count() == 0  # no link out of the file
            ARTIFACTS.joinpath("web").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web" / "report.png"), full_page=True)
            assert (dialogs, errors, refused) == ([], [], [])
            assert requests == [out.as_uri()]
        finally:
            ctx.close()

        # Without JavaScript (a strict mail viewer): the advice and the note are still there.
        ctx = new_context(chromium, tmp_path / "profile-nojs", java_script_enabled=False)
        try:
            page = ctx.new_page()
            page.goto(out.as_uri())
            body = page.text_content("body")
            assert all(a in body for a in summary["advice"])
            assert summary["disclaimer"] in body and NASTY in page.text_content("h1")
        finally:
            ctx.close()


def test_a_running_session_gives_the_summary_so_far(data_dir, http, tmp_path, capsys):
    sid = start(http, "Still squatting", speed=4)
    try:
        wait_for(http, sid, lambda s: s["rep_count"] >= 2 or not s["live"])
        out = tmp_path / "so-far.html"
        assert main(["report", sid, "--data", str(data_dir), "--out", str(out)]) == 0
        assert "summary so far" in capsys.readouterr().out
        text = out.read_text(encoding="utf-8")
        assert '"final":false' in text and '"reps":' in text
    finally:
        http.post(f"/api/sessions/{sid}/stop")


def test_bad_input_is_one_line_and_creates_nothing(data_dir, finished, tmp_path, capsys):
    empty = tmp_path / "nothing-here"
    assert main(["report", "abc", "--data", str(empty), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no squatsense data in" in err
    assert not empty.exists() and not (tmp_path / "r.html").exists()
    assert main(["report", "nosuchsession", "--data", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "unknown session 'nosuchsession'" in err and finished["id"] in err


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('import x from "./a.js";\n', "cannot inline"),
        ("export default function f() {}\n", "cannot inline"),
        ('import { f } from "./later.js";\n', "not bundled before it"),
        ("export { f };\nfunction f() {}\n", "cannot inline"),
    ],
)
def test_the_inliner_refuses_what_it_cannot_inline(tmp_path, source, problem):
    (tmp_path / "a.js").write_text("export const A = 1;\n")
    (tmp_path / "b.js").write_text(source)
    with pytest.raises(ReportError, match=problem):
        bundle_modules(tmp_path, ("a.js", "b.js"))


def test_the_inliner_keeps_each_module_to_itself(tmp_path):
    (tmp_path / "a.js").write_text("const hidden = 2;\nexport function f() { return hidden; }\n")
    (tmp_path / "b.js").write_text('import { f } from "./a.js";\nexport const g = () => f() + 1;\n')
    script = bundle_modules(tmp_path, ("a.js", "b.js"))
    assert '__modules["a.js"] = (() => {' in script
    assert "return { f };" in script and "return { g };" in script
    assert 'const { f } = __modules["a.js"];' in script
    assert "export" not in script and "import" not in script
