"""Provides the web server of ``concviz serve``: textual-serve, with tabs that end with it.

A browser tab's websocket starts a dashboard process of its own; whoever can reach the port
can open one, so what a tab sends is kept within bounds before it reaches that process, and
the process ends when its tab goes, whether or not it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import signal
import socket

import psutil
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

log = logging.getLogger("textual-serve")

# A terminal larger than any screen: the dashboard's memory and work grow with its cells, and
# a tab asking for 100000 × 100000 kept a dashboard busy until the machine ran out of memory.
MAX_COLUMNS, MAX_ROWS = 500, 200
DEFAULT_SIZE = (80, 24)  # textual-serve's, for a websocket that names no (usable) size
QUIT_S = 5.0  # a closed tab's dashboard stops its run and quits within this, or is killed
KILL_S = 5.0  # how long a killed dashboard's processes (and its output) are waited for


class ListenError(Exception):
    """Why serve cannot listen where it was told to (one line)."""


def terminal_size(width: object, height: object) -> tuple[int, int] | None:
    """A tab's terminal size within 1 × 1 … MAX_COLUMNS × MAX_ROWS; None if either is no number.

    Sizes come from the browser (the websocket's query, resize messages): anything may arrive.
    """
    cells = []
    for value, most in ((width, MAX_COLUMNS), (height, MAX_ROWS)):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:  # also digit strings too long for int()
                return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # JSON's true, null, strings, lists, objects
        if isinstance(value, float) and not math.isfinite(value):
            return None
        cells.append(min(max(int(value), 1), most))
    return cells[0], cells[1]


def _reason(exc: Exception) -> str:
    """The system's words for ``exc``, to follow a colon: "address already in use"."""
    text = " ".join(str(getattr(exc, "strerror", None) or exc).split())  # one line, always
    return text[:1].lower() + text[1:]


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address ``host`` names, ``port``; ListenError says why not.

    Bound before anything starts, and then handed to the server, so that a port in use or a
    host that does not resolve is told in one line instead of a traceback after start-up.
    """
    shown = host if host.isprintable() else repr(host)
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (OSError, UnicodeError) as exc:  # gaierror is an OSError; idna fails with the latter
        raise ListenError(f"cannot listen on {shown}: {_reason(exc)}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As asyncio would: a port left in TIME_WAIT by a previous serve is free to take.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = _reason(exc)
        if exc.errno == errno.EADDRINUSE:
            reason += "; choose another --port"
        raise ListenError(f"cannot listen on {shown} port {port}: {reason}") from None
    return sockets


def loopback_only(sockets: list[socket.socket]) -> bool:
    """Whether only this machine can reach these sockets (all bound to loopback addresses)."""
    for sock in sockets:
        address = str(sock.getsockname()[0]).split("%", 1)[0]
        try:
            if not ipaddress.ip_address(address).is_loopback:
                return False
        except ValueError:
            return False
    return bool(sockets)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class TabService(AppService):
    """One tab's dashboard process: sizes kept within bounds, and ended for sure on stop.

    textual-serve asks the dashboard to quit and waits for its output to end, for ever: a
    dashboard too busy to quit (or stopped) outlived its tab, and its run with it.
    """

    _stopped = False

    async def start(self, width: int, height: int) -> None:
        await super().start(*(terminal_size(width, height) or DEFAULT_SIZE))

    async def set_terminal_size(self, width: object, height: object) -> None:
        size = terminal_size(width, height)
        if size is not None:  # a resize that names no size is ignored, not passed on
            await super().set_terminal_size(*size)

    async def on_data(self, payload: bytes) -> None:
        # Once the tab has gone its frames are dropped, but still read: a dashboard blocked
        # writing to a full pipe could not finish quitting.
        with contextlib.suppress(ConnectionError):
            await super().on_data(payload)

    def _tree(self) -> list[psutil.Process]:
        """The shell textual-serve starts, the dashboard under it and the run under that."""
        if self._process is None:
            return []
        try:
            shell = psutil.Process(self._process.pid)
            return [shell, *shell.children(recursive=True)]
        except psutil.Error:
            return []

    async def _ended(self, procs: list[psutil.Process]) -> None:
        while any(_running(proc) for proc in procs):
            await asyncio.sleep(0.05)

    async def _quit(self, procs: list[psutil.Process]) -> None:
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.send_meta({"type": "quit"})
        await self._ended(procs)

    async def stop(self) -> None:
        """Ask the dashboard to quit; kill what is left of it and its run after QUIT_S."""
        if self._stopped or self._process is None:
            return
        self._stopped = True
        # Found now: once the dashboard has gone, what is left of its run is not under it.
        procs = self._tree()
        try:
            # Writing to the dashboard's input may block too, if it has stopped reading.
            await asyncio.wait_for(self._quit(procs), QUIT_S)
        except asyncio.TimeoutError:
            log.warning("a closed tab's dashboard did not quit in %g s: killed", QUIT_S)
        finally:
            # Also on cancellation (serve stopping meanwhile): nothing of the tab outlives it.
            procs += self._tree()
            for proc in procs:
                if _running(proc):
                    with contextlib.suppress(psutil.Error):  # also a pid reused meanwhile
                        proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ended(procs), KILL_S)
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(task, KILL_S)  # cancelled if the output never ends


class TabServer(Server):
    """textual-serve on sockets bound beforehand, with tabs that end with it and with serve.

    Stopping serve (Ctrl+C, SIGTERM) first ends every open tab's dashboard and its run:
    textual-serve leaves open websockets to aiohttp, which waits for them up to a minute while
    their dashboards and runs go on.
    """

    def __init__(self, command: str, host: str, port: int, sockets: list[socket.socket]) -> None:
        super().__init__(command, host=host, port=port, title="concviz")
        self._sockets = sockets
        self._open_tabs: set[asyncio.Task[object]] = set()

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM (textual-serve's, on the sockets already bound)."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self._sockets,
            handle_signals=False,
            loop=loop,
            print=lambda *args: None,
        )

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with a TabService: sizes within bounds, a dashboard that ends."""
        task = asyncio.current_task()
        if task is not None:
            self._open_tabs.add(task)
        websocket = web.WebSocketResponse(heartbeat=15)
        size = terminal_size(request.query.get("width"), request.query.get("height"))
        service: TabService | None = None
        try:
            await websocket.prepare(request)

            async def close() -> None:
                await websocket.close()

            service = TabService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(*(size or DEFAULT_SIZE))
            try:
                await self._process_messages(websocket, service)
            finally:
                await service.stop()
        except asyncio.CancelledError:
            # Cancelled by on_shutdown: the dashboard has ended, the page is told.
            await websocket.close()
        except Exception as error:  # a malformed message ends its tab, not serve
            log.exception(error)
        finally:
            if service is not None:
                await service.stop()  # one that failed half-way through starting
            if task is not None:
                self._open_tabs.discard(task)
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        # A cancelled tab tells its dashboard to quit, waits for it and closes the websocket.
        tabs = list(self._open_tabs)
        for task in tabs:
            task.cancel()
        if tabs:
            await asyncio.wait(tabs, timeout=QUIT_S + 2 * KILL_S + 5)
        await super().on_shutdown(app)


def serve(command: str, host: str, port: int, sockets: list[socket.socket]) -> None:
    """Serve the dashboard started by ``command`` (one process per browser tab) until stopped.

    ``sockets`` come from :func:`listen` (``host`` and ``port`` are what the pages show).
    """
    TabServer(command, host, port, sockets).serve()
