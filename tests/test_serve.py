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
from collections.abc import Callable, Sequence
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


# concviz as the tests start it: this checkout's.
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
CONCVIZ = (sys.executable, "-m", "tui.cli")


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

    def __init__(
        self, log: Path, *args: str, concviz: Sequence[str] = CONCVIZ, cwd: Path = ROOT
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.err_path = log.with_name(log.name + ".stderr")
        self.args = args
        self.concviz = concviz
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}

    def __enter__(self) -> Served:
        # Files, not pipes: serve logs every request, and a full pipe would block it.
        with self.log_path.open("wb") as log, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*self.concviz, "serve", "--port", str(self.port), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=err,
                env=ENV,
                cwd=self.cwd,
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
        return (self.log_path.read_text(errors="replace") + self.errors())[-4000:]

    def errors(self) -> str:
        """What serve wrote on its standard error."""
        return self.err_path.read_text(errors="replace")

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


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (120, 40, (120, 40)),
        ("120", "40", (120, 40)),
        (100000, 100000, (500, 200)),
        ("100000", "100000", (500, 200)),
        (10**400, 1e300, (500, 200)),
        (0, -5, (1, 1)),
        (80.7, 24.2, (80, 24)),
        ("wide", 40, None),
        (120, None, None),
        (True, 40, None),
        (float("nan"), 40, None),
        (120, float("inf"), None),
        ("9" * 5000, 40, None),
        ([120], {"h": 40}, None),
    ],
)
def test_terminal_sizes_from_a_browser_are_kept_within_bounds(
    width: object, height: object, size: tuple[int, int] | None
) -> None:
    from tui.serve import terminal_size

    assert terminal_size(width, height) == size


MAX_RSS = 300 * 2**20  # at the largest size allowed a dashboard needs about 60 MB
HUGE_HOLD_S = 4  # unclamped, the dashboard passed MAX_RSS within 3 s


async def drain(ws: aiohttp.ClientWebSocketResponse, received: list[int]) -> None:
    """Read a tab's frames (answering pings), counting their bytes: too many to draw here."""
    async for msg in ws:
        if msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
            received[0] += len(msg.data)
        else:
            break


async def watch_memory(
    served: Served, dashboard: psutil.Process, reader: asyncio.Task[None], seconds: float
) -> None:
    """For ``seconds``, the dashboard lives within MAX_RSS and its tab stays open."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert alive(dashboard), f"the dashboard ended:\n{served.log()}"
        rss = dashboard.memory_info().rss
        assert rss < MAX_RSS, f"the dashboard grew to {rss / 2**20:.0f} MB"
        assert not reader.done(), f"the tab ended:\n{served.log()}"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(300)
async def test_a_huge_terminal_size_is_clamped_and_its_dashboard_ends_with_the_tab(
    tmp_path: Path,
) -> None:
    with Served(tmp_path / "serve.log") as served:
        async with aiohttp.ClientSession() as client:
            # Frames of any size are taken: the dashboard's, not the client's, limits are tested.
            ws = await client.ws_connect(
                f"{served.url}/ws?width=100000&height=100000", max_msg_size=0
            )
            await ws.send_str(json.dumps(["resize", {"width": 100000, "height": 100000}]))
            received = [0]
            reader = asyncio.create_task(drain(ws, received))
            await wait_until(lambda: len(served.dashboards()) == 1, WAIT_S, "the dashboard")
            dashboard = served.dashboards()[0]
            # Watched from the start, as a frame may take long to come: unclamped, the
            # dashboard grows by gigabytes.
            start = time.monotonic()
            while not received[0]:
                await watch_memory(served, dashboard, reader, 0.1)
                assert time.monotonic() < start + WAIT_S, "never saw a frame"
            await watch_memory(served, dashboard, reader, HUGE_HOLD_S)
            # Sizes that are no numbers are ignored; the tab goes on.
            await ws.send_str(json.dumps(["resize", {"width": "wide", "height": None}]))
            await ws.send_str(json.dumps(["resize", {"width": [1], "height": True}]))
            await watch_memory(served, dashboard, reader, 1)
            await ws.close()
            await asyncio.wait_for(reader, WAIT_S)
            await assert_all_end([dashboard], served, "the closed tab's dashboard to end")
            await assert_all_end(served.descendants(), served, "serve to have no process left")


@pytest.mark.timeout(300)
async def test_a_closed_tabs_dashboard_ends_even_when_it_does_not_answer(tmp_path: Path) -> None:
    with Served(tmp_path / "serve.log") as served:
        async with aiohttp.ClientSession() as client:
            tab, dashboard, _ = await open_tab(served, client)
            served.descendants()
            # Stopped, it reads and draws nothing: as busy as a dashboard can be.
            dashboard.suspend()
            await tab.close()
            await assert_all_end([dashboard], served, "the closed tab's dashboard to end")
            await assert_all_end(served.descendants(), served, "serve to have no process left")
            assert served.proc is not None and served.proc.poll() is None, "serve itself ended"


PLANTED = """\
import pathlib

pathlib.Path(__file__).parent.parent.joinpath("planted-ran").write_text("planted tui.cli ran")
"""


@pytest.mark.timeout(300)
async def test_a_tui_package_in_serves_folder_is_not_what_a_tab_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("concviz")
    if not script.exists():
        pytest.skip("needs the installed concviz command (pip install -e .)")
    folder = tmp_path / "work"
    (folder / "tui").mkdir(parents=True)
    (folder / "tui" / "__init__.py").write_text("")
    (folder / "tui" / "cli.py").write_text(PLANTED)
    ran = folder / "planted-ran"
    # Without isolation, `python -m tui.cli` run in this folder is the planted one.
    subprocess.run([*CONCVIZ, "--help"], cwd=folder, env=ENV, capture_output=True, timeout=WAIT_S)
    assert ran.exists(), "the planted module would not run anyway: the test proves nothing"
    ran.unlink()
    with Served(tmp_path / "serve.log", concviz=[str(script)], cwd=folder) as served:
        async with aiohttp.ClientSession() as client:
            tab, dashboard, first = await open_tab(served, client)
            assert dashboard.cwd() == str(folder)
            assert not ran.exists(), "a tab ran the tui/cli.py of serve's folder"
            await tab.close()
            await assert_all_end([dashboard], served, "the closed tab's dashboard to end")


def test_a_host_other_than_loopback_is_warned_about(tmp_path: Path) -> None:
    with Served(tmp_path / "serve.log", "--host", "0.0.0.0") as served:
        errors = served.errors()
    warnings = [line for line in errors.splitlines() if "warning" in line]
    assert len(warnings) == 1, errors
    assert warnings[0].startswith("concviz: warning: 0.0.0.0 is not a loopback address"), errors
    assert "anyone who can reach" in warnings[0], errors


def test_loopback_is_served_without_a_warning(tmp_path: Path) -> None:
    with Served(tmp_path / "serve.log", "--host", "localhost") as served:
        errors = served.errors()
    assert "warning" not in errors, errors
    assert "serving the dashboard at http://localhost:" in errors, errors


def sessions_processes(sid: int) -> list[psutil.Process]:
    """Processes still in session ``sid``."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError):
            if os.getsid(proc.pid) == sid:
                found.append(proc)
    return found


def refused(*args: str) -> tuple[int, str, str]:
    """`concviz serve ARGS`, which must end at once (leaving nothing): code, stdout, stderr."""
    proc = subprocess.Popen(
        [*CONCVIZ, "serve", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=END_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"serve {' '.join(args)} went on instead of refusing") from None
    left = sessions_processes(proc.pid)
    for leftover in left:
        with contextlib.suppress(psutil.Error):
            leftover.kill()
    assert not left, describe(left)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = refused("--port", str(port))
    assert code == 2, err
    assert out == "", out
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"concviz: error: cannot listen on 127.0.0.1 port {port}: "), err
    assert "in use" in err, err


def test_a_host_name_that_does_not_resolve_is_one_line_and_exit_2() -> None:
    code, out, err = refused("--host", "no-such-host.invalid", "--port", str(free_port()))
    assert code == 2, err
    assert out == "", out
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("concviz: error: cannot listen on no-such-host.invalid: "), err
