"""A scripted local TCP server for tests of network feeds: it listens on a free port and
runs one script per accepted connection, in turn (a drop, a reconnect, a silent peer...)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Script = Callable[[socket.socket], None]


class ScriptedServer:
    """Accepts connections in turn and runs one script on each; :meth:`close` stops it."""

    def __init__(self, scripts: list[Script], wait_s: float) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(wait_s)  # an accept that never comes ends the server
        self.wait_s = wait_s
        self.accepted = 0
        self.scripts = scripts
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                script(conn)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(self.wait_s)
