"""Provides the local HTTP server the download workload fetches from: real sockets, set latency."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    """Answers ``/page/N?delay=SECONDS&size=BYTES`` after the delay with that many bytes."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        query = parse_qs(urlsplit(self.path).query)
        try:
            delay = float(query.get("delay", ["0"])[0])
            size = int(query.get("size", ["1024"])[0])
        except ValueError:
            self.send_error(400, "bad delay or size")
            return
        time.sleep(max(0.0, min(delay, 60.0)))
        body = b"x" * max(0, min(size, 16 * 1024 * 1024))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet: the run's log is for the workers."""


class LatencyServer:
    """A threading HTTP server on 127.0.0.1 and a free port, for the length of a ``with``."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="concviz-http", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The server's address, e.g. ``http://127.0.0.1:40123``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, index: int, delay: float, size: int) -> str:
        """The address of page ``index`` that answers after ``delay`` seconds."""
        return f"{self.base_url}/page/{index}?delay={delay:.3f}&size={size}"

    def __enter__(self) -> LatencyServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
