"""Helpers for the browser tests: Debian's chromium via Playwright, the service on a free
port in a thread, a TCP proxy whose connections can be cut (a network blip).

Playwright's own browser downloads are never used (``playwright install`` is not run):
the tests drive ``/usr/bin/chromium``. Without it they skip with the reason, and fail
under CI (``CI=true``), whose ``.ci/run`` installs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import bind_socket, make_server

ROOT = Path(__file__).resolve().parents[1]
#: Screenshots and other artefacts of the browser tests (gitignored).
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> Path:
    """The chromium binary, else skip (or fail under CI) with the reason."""
    if not CHROMIUM.exists():
        msg = (
            f"{CHROMIUM} is absent: the browser tests need Debian's chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " and CI must have it")
        pytest.skip(msg)
    return CHROMIUM


@contextlib.contextmanager
def playwright_chromium() -> Iterator[Any]:
    """Playwright's sync API (its driver ships in the wheel), for /usr/bin/chromium.

    Yields the ``BrowserType``; each test starts its own browser with a fresh
    user-data-dir through :func:`new_context`.
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw.chromium


def new_context(chromium: Any, user_data_dir: Path, **options: Any) -> Any:
    """A browser with its own fresh user-data-dir (nothing shared between tests)."""
    if user_data_dir.exists():
        shutil.rmtree(user_data_dir)
    user_data_dir.mkdir(parents=True)
    return chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        accept_downloads=True,
        **options,
    )


class ThreadServer:
    """A uvicorn server for `app` on a free port, served by a thread's own event loop."""

    def __init__(self, app: Any) -> None:
        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server(app, log_level="warning")
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="web-test-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()/stop(), not as a thread warning
            self.error = exc

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"the service did not start: {self.error!r}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        if self.error is not None:
            raise AssertionError(f"the service failed: {self.error!r}")


class BlipProxy:
    """A TCP forwarder in front of the service whose connections can be cut.

    ``cut(hold_s)`` closes every open connection (HTTP keep-alives and WebSockets alike)
    and, for `hold_s`, closes new ones at once: what a phone sees when the gym's Wi-Fi
    drops for a moment.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._refuse_until = 0.0
        self._closing = False
        self.cuts = 0
        self._accepter = threading.Thread(target=self._accept, name="blip-proxy", daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._closing or time.monotonic() < self._refuse_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                self._threads.append(t)
                t.start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                if s in self._open:
                    self._open.discard(s)
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()

    def cut(self, hold_s: float = 0.0) -> None:
        """Break every open connection; refuse new ones for `hold_s` seconds."""
        self._refuse_until = time.monotonic() + hold_s
        self.cuts += 1
        with self._lock:
            socks = list(self._open)
        self._drop(*socks)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._accepter.join(10)
        self.cut()
        for t in self._threads:
            t.join(10)


#: An in-page check of the accessibility basics: every control has an accessible name,
#: and nothing is wider than the viewport. Returns a list of problems (empty = fine).
A11Y_CHECK_JS = r"""
() => {
  const problems = [];
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)
      && getComputedStyle(e).visibility !== "hidden";
  const textOf = (e) => (e.textContent || "").replace(/\s+/g, " ").trim();
  const name = (e) => {
    if (e.getAttribute("aria-label")) return e.getAttribute("aria-label").trim();
    const by = e.getAttribute("aria-labelledby");
    if (by) {
      const t = by.split(/\s+/).map((id) => document.getElementById(id))
        .filter(Boolean).map(textOf).join(" ").trim();
      if (t) return t;
    }
    if (e.labels && e.labels.length) {
      const t = [...e.labels].map(textOf).join(" ").trim();
      if (t) return t;
    }
    if (["BUTTON", "A", "SUMMARY"].includes(e.tagName)) {
      const t = textOf(e);
      if (t) return t;
    }
    return (e.getAttribute("title") || "").trim();
  };
  const controls = document.querySelectorAll(
    "button, a[href], input:not([type=hidden]), select, textarea, [role=button], canvas, "
      + "svg[role=img], [tabindex]"
  );
  for (const e of controls) {
    if (!visible(e)) continue;
    if (e.tagName.toLowerCase() === "svg") {
      const title = e.querySelector("title");
      if (!(title && textOf(title)) && !name(e)) problems.push("svg image without a title");
      continue;
    }
    const native = ["BUTTON", "A", "INPUT", "SELECT", "TEXTAREA"].includes(e.tagName);
    if (e.hasAttribute("tabindex") && !native && !e.getAttribute("role")) {
      problems.push(`focusable ${e.tagName.toLowerCase()} without a role`);
    }
    const what = `${e.tagName.toLowerCase()}#${e.id || "?"}.${e.className || ""}`;
    if (!name(e)) problems.push(`${what} has no accessible name`);
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    const wide = [...document.querySelectorAll("body *")].filter((e) => {
      const r = e.getBoundingClientRect();
      return visible(e) && r.right > doc.clientWidth + 1 && !e.closest(".table-scroll");
    }).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
    problems.push(`horizontal scroll: page ${doc.scrollWidth}px > viewport `
      + `${doc.clientWidth}px (${wide.join(", ")})`);
  }
  return problems;
}
"""

#: WCAG contrast of an element's text against its effective background (the first
#: opaque background up the tree); returns {ratio, fg, bg, large}.
CONTRAST_JS = r"""
(e) => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  let node = e;
  let bg = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c && c.a >= 0.99) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || { r: 255, g: 255, b: 255, a: 1 };
  const style = getComputedStyle(e);
  const fg = parse(style.color);
  const l1 = lum(fg), l2 = lum(bg);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  const size = parseFloat(style.fontSize);
  const bold = Number(style.fontWeight) >= 700;
  return { ratio, fg: style.color, bg: `rgb(${bg.r}, ${bg.g}, ${bg.b})`,
           large: size >= 24 || (bold && size >= 18.66) };
}
"""
