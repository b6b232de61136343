"""A real HTTP server for the app in a background thread, for concurrency and browser tests.

It can be stopped and started again on the same port (same origin), which the offline browser tests need."""
from __future__ import annotations

import socket
import threading

from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """Serve `app` on 127.0.0.1:port with a thread per request."""

    def __init__(self, app, port: int | None = None):
        self.app = app
        self.port = port or free_port()
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveServer":
        if self._server is None:
            self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
            # stop() waits for the loop to look up; every 50 ms instead of the default 500 ms.
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
