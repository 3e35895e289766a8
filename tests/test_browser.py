"""concviz serve in headless Chromium: a tab kept open, r pressed, the run drawn, the tab closed."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.test_serve import (
    DOUBLE_RUN,
    END_S,
    HOLD_S,
    WAIT_S,
    Served,
    alive,
    describe,
    run_processes,
)

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser test needs the playwright package: pip install -e '.[test]'",
)

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# textual-serve's page keeps its xterm.js terminal in a closure (`this.terminal = new
# Terminal(...)`): catch that assignment so the test reads what the terminal in the page holds.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && value.buffer && typeof value.write === "function") window.__term = value;
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
  },
});
window.__screen = () => {
  const term = window.__term;
  if (!term) return null;
  const buffer = term.buffer.active;
  const lines = [];
  for (let row = 0; row < term.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
};
"""
SESSION_ENDED = "Session ended."  # textual-serve's page, once its websocket is closed


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("the browser test needs Chromium on PATH (Debian: apt-get install chromium)")


def launch_problem(exc: Exception) -> str:
    """Playwright's first line and what the browser itself said on stderr."""
    text = str(exc)
    said = [
        line.split("[err] ", 1)[1]
        for line in text.split("Call log:")[0].splitlines()
        if "[err] " in line
    ]
    return "; ".join([text.strip().splitlines()[0] if text.strip() else repr(exc), *said[:3]])


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, closed (with its driver) afterwards."""
    path = chromium_path()
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS, timeout=WAIT_S * 1000
            )
        except sync_api.Error as exc:
            pytest.skip(f"Chromium at {path} does not start headless: {launch_problem(exc)}")
        try:
            yield chromium
        finally:
            chromium.close()
    reap_browser_helpers()


def reap_browser_helpers(timeout: float = 10.0) -> None:
    """Chromium's helpers outlive the browser for a moment; runs made earlier in this process
    made it a subreaper, so they end up as its children: wait for them, leave no zombie."""
    import os

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        helpers = []
        for child in psutil.Process().children():
            try:
                if child.name().startswith("chrom"):
                    helpers.append(child)
            except psutil.Error:
                continue
        if not helpers:
            return
        for helper in helpers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(helper.pid, os.WNOHANG)
        time.sleep(0.1)


def screen(page: Any) -> str:
    text = page.evaluate("window.__screen()")
    assert text is not None, (
        "the page made no xterm.js terminal the test can read "
        "(textual-serve's page changed how it creates it)"
    )
    return str(text)


def wait_for_screen(page: Any, check: Callable[[str], bool], what: str) -> str:
    """Until ``check(the terminal's text)``; fails with the screen if the session ends first."""
    deadline = time.monotonic() + WAIT_S
    while True:
        text = page.evaluate("window.__screen()")
        if text is None and page.evaluate("document.body.classList.contains('-first-byte')"):
            text = screen(page)  # frames arrived, yet no terminal to read: say so
        text = text or ""
        if check(text):
            return str(text)
        assert not session_ended(page), f"the session ended while waiting for {what}:\n{text}"
        assert time.monotonic() < deadline, f"the page never showed {what}:\n{text}"
        page.wait_for_timeout(100)


def session_ended(page: Any) -> bool:
    return bool(page.get_by_text(SESSION_ENDED).is_visible())


def wait_ended(procs: list[psutil.Process], served: Served, what: str) -> None:
    deadline = time.monotonic() + END_S
    while any(alive(proc) for proc in procs):
        left = describe([proc for proc in procs if alive(proc)])
        assert time.monotonic() < deadline, f"{what}: still there {left}\n{served.log()}"
        time.sleep(0.05)


@pytest.mark.timeout(300)
def test_the_dashboard_in_chromium_stays_runs_on_r_and_ends_with_its_tab(
    tmp_path: Path, browser: Any
) -> None:
    with Served(
        tmp_path / "serve.log", "-w", "double", "-b", "thread-pool", "--tasks", "4"
    ) as served:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(WAIT_S * 1000)
        page.add_init_script(CATCH_TERMINAL)
        page.goto(served.url + "/")
        try:
            first = wait_for_screen(page, lambda text: "timeline" in text, "the dashboard")
        except AssertionError as exc:  # a dashboard that fails to start says why only there
            raise AssertionError(f"{exc}\nserve log:\n{served.log()}") from None
        assert "thread-pool" in first and "double" in first, first
        dashboards = served.dashboards()
        assert len(dashboards) == 1, describe(dashboards)
        dashboard = dashboards[0]

        # A person reads the dashboard a while before pressing anything.
        held_until = time.monotonic() + HOLD_S
        while time.monotonic() < held_until:
            assert not session_ended(page), f"{SESSION_ENDED!r} shown:\n{screen(page)}"
            assert alive(dashboard), f"the tab's dashboard ended:\n{served.log()}"
            page.wait_for_timeout(250)

        page.locator(".xterm-helper-textarea").focus()
        page.keyboard.press("r")
        drawn = wait_for_screen(
            page,
            lambda text: all(part in text for part in DOUBLE_RUN) and "task 3" in text,
            "the finished run",
        )
        # double answers 2, 4, 6, 8: the four results are the workload's own.
        assert all(f"→ ({2 * i}, " in drawn for i in range(1, 5)), drawn
        run = run_processes(drawn)
        assert not session_ended(page)
        served.descendants()

        page.close()
        wait_ended([dashboard], served, "the closed tab's dashboard")
        wait_ended([*run, *served.seen.values()], served, "the closed tab's processes")
        assert served.proc is not None and served.proc.poll() is None, "serve itself ended"
