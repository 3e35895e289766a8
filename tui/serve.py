"""Provides the web server of ``concviz serve``: textual-serve, with tabs that end with it."""

from __future__ import annotations

import asyncio

from aiohttp import web
from textual_serve.server import Server


class TabServer(Server):
    """Stopping serve (Ctrl+C, SIGTERM) first ends every open tab's dashboard and its run.

    textual-serve leaves open websockets to aiohttp, which waits for them up to a minute while
    their dashboards and runs go on.
    """

    def __init__(self, command: str, host: str, port: int) -> None:
        super().__init__(command, host=host, port=port, title="concviz")
        self._open_tabs: set[asyncio.Task[object]] = set()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        if task is not None:
            self._open_tabs.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            if task is not None:
                self._open_tabs.discard(task)

    async def on_shutdown(self, app: web.Application) -> None:
        # A cancelled tab tells its dashboard to quit, waits for it and closes the websocket.
        tabs = list(self._open_tabs)
        for task in tabs:
            task.cancel()
        if tabs:
            await asyncio.wait(tabs, timeout=15)
        await super().on_shutdown(app)


def serve(command: str, host: str, port: int) -> None:
    """Serve the dashboard started by ``command`` (one process per browser tab) until stopped."""
    TabServer(command, host, port).serve()
