"""concviz serve: a browser tab's dashboard over textual-serve's websocket, used as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import psutil
import pyte
import pytest

from tests.conftest import ROOT

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("textual_serve")

COLS, ROWS = 120, 40
HOLD_S = 20  # how long a person keeps a tab open before doing anything: the session must last
WAIT_S = 60  # generous upper bound for anything awaited on a loaded machine
END_S = 10  # a closed tab's dashboard and its run must be gone within this
# The first lines of the summary once the run of `-w double -b thread-pool --tasks 4` is drawn.
DOUBLE_RUN = ("finished · thread-pool", "4/4 tasks")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_dashboard(proc: psutil.Process) -> bool:
    """A tab's dashboard: `python -I -m tui.cli OPTIONS` (not the shell around it, not serve)."""
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return False
    return "tui.cli" in argv and "serve" not in argv


def alive(proc: psutil.Process) -> bool:
    """Running, and not a zombie waiting to be reaped (is_running also checks pid reuse)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def describe(procs: list[psutil.Process]) -> list[str]:
    found = []
    for proc in procs:
        try:
            found.append(f"{proc.pid} {' '.join(proc.cmdline())[:100]} ({proc.status()})")
        except psutil.Error:
            found.append(f"{proc.pid} (gone while listed)")
    return found


class Served:
    """`concviz serve ARGS` on a free loopback port; stopped with everything it started."""

    def __init__(self, log: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}

    def __enter__(self) -> Served:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # A file, not a pipe: serve logs every request, and a full pipe would block it.
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tui.cli", "serve", "--port", str(self.port), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        self.root = psutil.Process(self.proc.pid)
        try:
            self._wait_for_page()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def _wait_for_page(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited {self.proc.returncode}:\n{self.log()}"
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.1)
                continue
            assert "<html" in page and "/ws" in page, page[:500]
            return
        raise AssertionError(f"serve never answered on {self.url}:\n{self.log()}")

    def descendants(self) -> list[psutil.Process]:
        """Every process under serve now (also remembered, so that stop can end stragglers)."""
        try:
            found = self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for proc in found:
            self.seen.setdefault(proc.pid, proc)
        return found

    def dashboards(self) -> list[psutil.Process]:
        return [proc for proc in self.descendants() if is_dashboard(proc)]

    def stop(self) -> None:
        """SIGINT serve's group as Ctrl+C would; then kill whatever of it is left, by pid."""
        if self.proc is None:
            return
        self.descendants()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        # A run's processes may sit in their own process groups: end those one by one.
        for proc in self.seen.values():
            if alive(proc):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
        psutil.wait_procs(list(self.seen.values()), timeout=5)


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


class Tab:
    """One browser tab's websocket: frames drawn on a terminal screen, keys sent as typed."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.frames = 0
        self.ended: str | None = None  # how the server ended the websocket, if it did
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        # Reading also answers the server's heartbeat pings, as a browser does.
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.stream.feed(msg.data)
                self.frames += 1
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.frames += 1
            else:
                break
        self.ended = f"websocket ended: {self.ws.close_code} {self.ws.exception()!r}"

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def press(self, key: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", key]))

    async def wait_for(self, check: Callable[[str], bool], what: str) -> str:
        """Until ``check(screen text)``; fails with the screen if the tab ends or time is up."""
        deadline = time.monotonic() + WAIT_S
        while not check(self.text()):
            assert self.ended is None, f"{self.ended} while waiting for {what}:\n{self.text()}"
            assert time.monotonic() < deadline, f"never saw {what}:\n{self.text()}"
            await asyncio.sleep(0.05)
        return self.text()

    async def hold(self, seconds: float) -> None:
        """Keep the tab open for ``seconds``, failing as soon as the server ends it."""
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"{self.ended} during the first {seconds} s:\n{self.text()}")

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, WAIT_S)


async def open_tab(
    served: Served, client: aiohttp.ClientSession
) -> tuple[Tab, psutil.Process, str]:
    """A new tab at COLS × ROWS; returns it, its dashboard process and its first full screen."""
    before = {proc.pid for proc in served.dashboards()}
    ws = await client.ws_connect(f"{served.url}/ws?width={COLS}&height={ROWS}")
    await ws.send_str(json.dumps(["resize", {"width": COLS, "height": ROWS}]))
    tab = Tab(ws)
    try:
        screen = await tab.wait_for(
            lambda text: "timeline" in text and "executor" in text, "a frame"
        )
    except AssertionError as exc:  # a dashboard that fails to start says why only in serve's log
        raise AssertionError(f"{exc}\nserve log:\n{served.log()}") from None
    mine: list[psutil.Process] = []

    def started() -> bool:
        mine[:] = [proc for proc in served.dashboards() if proc.pid not in before]
        return len(mine) == 1

    await wait_until(started, WAIT_S, "the tab's own dashboard process")
    return tab, mine[0], screen


def run_processes(screen: str) -> list[psutil.Process]:
    """The processes the results pane says ran the tasks, those still there."""
    found = []
    for pid in {int(pid) for pid in re.findall(r"\bpid (\d+)", screen)}:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


async def watch_descendants(dashboard: psutil.Process, seen: dict[int, psutil.Process]) -> None:
    """Remember every process the dashboard starts (a run's supervisor and workers)."""
    while True:
        try:
            for proc in dashboard.children(recursive=True):
                seen.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            return
        await asyncio.sleep(0.02)


async def assert_all_end(procs: list[psutil.Process], served: Served, what: str) -> None:
    try:
        await wait_until(lambda: not any(alive(proc) for proc in procs), END_S, what)
    except AssertionError as exc:
        left = describe([proc for proc in procs if alive(proc)])
        raise AssertionError(f"{exc}; still there: {left}\nserve log:\n{served.log()}") from None


@pytest.mark.timeout(300)
async def test_a_tab_stays_runs_on_r_and_leaves_nothing_when_closed(tmp_path: Path) -> None:
    # Dashboard options given to serve apply to every tab.
    with Served(
        tmp_path / "serve.log", "-w", "double", "-b", "thread-pool", "--tasks", "4"
    ) as served:
        async with aiohttp.ClientSession() as client:
            tab, dashboard, first = await open_tab(served, client)
            assert "thread-pool" in first and "double" in first
            await tab.hold(HOLD_S)
            assert alive(dashboard), f"the dashboard ended while its tab was open:\n{tab.text()}"
            seen: dict[int, psutil.Process] = {}
            watcher = asyncio.create_task(watch_descendants(dashboard, seen))
            frames = tab.frames
            await tab.press("r")
            screen = await tab.wait_for(
                lambda text: all(part in text for part in DOUBLE_RUN) and "task 3" in text,
                "the finished run",
            )
            assert tab.frames > frames
            # double answers 2, 4, 6, 8: the four results are the workload's own, drawn in the tab.
            assert all(f"→ ({2 * i}, " in screen for i in range(1, 5)), screen
            assert re.search(r"\bpid \d+", screen), screen
            run = run_processes(screen)
            served.descendants()
            await tab.close()
            await assert_all_end([dashboard], served, "the closed tab's dashboard to end")
            watcher.cancel()
            await assert_all_end(
                [*run, *seen.values()], served, "every process of the tab's runs to end"
            )
            await assert_all_end(served.descendants(), served, "serve to have no process left")
            assert served.proc is not None and served.proc.poll() is None, "serve itself ended"


# Sleeps of 20-100 s, one process per task, never judged stalled: still running when it ends.
LONG_RUN = shlex.split("-w sleep -b processes --tasks 3 --scale 20 --stall-timeout 0")


async def start_long_run(
    served: Served, client: aiohttp.ClientSession
) -> tuple[Tab, psutil.Process, dict[int, psutil.Process]]:
    """A tab whose run (supervisor and a process per task) is under way; its processes."""
    tab, dashboard, _ = await open_tab(served, client)
    seen: dict[int, psutil.Process] = {}
    watcher = asyncio.create_task(watch_descendants(dashboard, seen))
    await tab.press("r")
    await tab.wait_for(lambda text: "running processes" in text, "the run")
    # The supervisor and a process per task, besides the dashboard's resource tracker.
    await wait_until(lambda: sum(map(alive, seen.values())) >= 5, WAIT_S, "the workers")
    watcher.cancel()
    seen.update((proc.pid, proc) for proc in served.descendants())
    return tab, dashboard, seen


@pytest.mark.timeout(300)
async def test_closing_a_tab_during_a_run_ends_the_run(tmp_path: Path) -> None:
    with Served(tmp_path / "serve.log", *LONG_RUN) as served:
        async with aiohttp.ClientSession() as client:
            tab, dashboard, run = await start_long_run(served, client)
            await tab.close()
            await assert_all_end([dashboard], served, "the closed tab's dashboard to end")
            await assert_all_end(list(run.values()), served, "every process of the run to end")
            await assert_all_end(served.descendants(), served, "serve to have no process left")
            assert served.proc is not None and served.proc.poll() is None, "serve itself ended"


@pytest.mark.timeout(300)
async def test_stopping_serve_ends_its_tabs_and_their_runs(tmp_path: Path) -> None:
    # As a service manager stops it: SIGTERM to serve alone, a tab open, its run under way.
    with Served(tmp_path / "serve.log", *LONG_RUN) as served:
        async with aiohttp.ClientSession() as client:
            tab, dashboard, run = await start_long_run(served, client)
            server = served.proc
            assert server is not None
            server.terminate()
            await assert_all_end([dashboard], served, "the tab's dashboard to end")
            await assert_all_end(list(run.values()), served, "every process of the run to end")
            # The page says "Session ended." (its websocket closed) and serve exits cleanly.
            await wait_until(lambda: tab.ended is not None, END_S, "the tab to be told")
            await wait_until(lambda: server.poll() is not None, END_S, "serve to exit")
            assert server.returncode == 0, served.log()
