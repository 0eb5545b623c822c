"""One MAVLink link of the vehicle (SERIAL0/1/2 on TCP): encoder, parser, output buffer.

A link talks to at most one TCP client at a time, like SITL's TCP serial ports; further
clients wait in the listen backlog until the first one disconnects. Output is buffered and
written without blocking; when a client stops reading, stream messages are dropped (as
ArduPilot skips messages when a port has no room) instead of growing the buffer.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import Any

from uav.sim.constants import mavlink2

MAX_PENDING_BYTES = 512 * 1024  # beyond this, optional messages are dropped
RECV_BYTES = 65536


class _LinkWriter:
    """The file object the pymavlink encoder writes packed messages to."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def write(self, data: bytes) -> None:
        self._link.write_bytes(data)


class Link:
    """A vehicle link: implements :class:`uav.sim.interfaces.LinkPort`."""

    def __init__(
        self,
        index: int,
        sysid: int,
        compid: int,
        signing_floor: Callable[[], int],
    ) -> None:
        self.index = index
        self.mav: Any = mavlink2.MAVLink(_LinkWriter(self), srcSystem=sysid, srcComponent=compid)
        self._parser: Any = mavlink2.MAVLink(None, srcSystem=0, srcComponent=0)
        self._parser.robust_parsing = True
        self._signing_floor = signing_floor
        self.sock: socket.socket | None = None
        self.out = bytearray()
        self.active = False  # a valid MAVLink packet has been received on this link
        self.dropped_messages = 0

    # ---- connection ----
    @property
    def connected(self) -> bool:
        return self.sock is not None

    def attach(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.out.clear()
        self._parser.buf = bytearray()
        self._parser.buf_index = 0

    def detach(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None
        self.out.clear()

    # ---- output ----
    def has_room(self) -> bool:
        return self.connected and len(self.out) < MAX_PENDING_BYTES

    def write_bytes(self, data: bytes) -> None:
        if self.sock is not None:
            self.out += data

    def send(self, msg: Any) -> None:
        """Send one message on this link (always queued while a client is connected)."""
        if self.sock is None:
            return
        signing = self.mav.signing
        if signing.sign_outgoing:
            signing.timestamp = max(int(signing.timestamp), self._signing_floor())
        self.mav.send(msg)

    def send_optional(self, msg: Any) -> bool:
        """Send a message that may be dropped when the client is not reading (streams)."""
        if not self.has_room():
            self.dropped_messages += 1
            return False
        self.send(msg)
        return True

    def flush(self) -> bool:
        """Write what the socket takes; False when the client has gone."""
        if self.sock is None or not self.out:
            return self.sock is not None
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        del self.out[:sent]
        return True

    # ---- input ----
    def receive(self) -> list[Any] | None:
        """Read from the socket and parse; None when the client has gone."""
        if self.sock is None:
            return None
        try:
            data = self.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            return None
        if not data:
            return None
        return self.parse(data)

    def parse(self, data: bytes) -> list[Any]:
        msgs = self._parser.parse_buffer(data) or []
        return [m for m in msgs if m.get_type() != "BAD_DATA" and not _is_unknown(m)]


def _is_unknown(msg: Any) -> bool:
    return str(msg.get_type()).startswith("UNKNOWN")
