"""A scripted MAVLink vehicle on a real localhost TCP socket: the edge the link tests mock.

The link under test connects to it exactly as to SITL (``tcp:127.0.0.1:PORT``). It decodes
what the link sends with pymavlink and answers with real encoded MAVLink 2 packets: either
recorded bytes from the SITL traces or messages a test builds. By default it answers each
GCS HEARTBEAT with a vehicle HEARTBEAT (the last one it sent, or STABILIZE/STANDBY), so the
link sees a live vehicle without any timer.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from uav.link.transport import mavlink

Reply = Any  # a pymavlink message or raw bytes
Handler = Callable[[Any], Iterable[Reply] | None]


class FakeVehicle:
    def __init__(self, *, sysid: int = 1, compid: int = 1, channel0: bool = True) -> None:
        self.sysid = sysid
        self.compid = compid
        self.channel0 = channel0  # accepts unsigned packets while signing (SERIAL0 behaviour)
        self.answer_heartbeats = True
        self.greet = False  # send a HEARTBEAT as soon as a client connects
        self.reject_connections = False
        self.handlers: dict[str, Handler] = {}
        self.received: list[Any] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._client: socket.socket | None = None
        self._stop = threading.Event()
        self.mav = self._new_mav()
        self.heartbeat = self.mav.heartbeat_encode(2, 3, 81, 0, 3, 3)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._wake_r, self._wake_w = socket.socketpair()  # wakes the serving thread at close
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="fake-vehicle", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ scripting

    def on(self, msg_type: str, handler: Handler) -> None:
        self.handlers[msg_type] = handler

    def send(self, *replies: Reply) -> None:
        """Send messages (packed and, once signing is on, signed) or recorded raw bytes."""
        with self._lock:
            client = self._client
            for reply in replies:
                reply = self.heartbeat if reply is None else reply
                data = reply if isinstance(reply, bytes | bytearray) else reply.pack(self.mav)
                if isinstance(reply, bytes | bytearray):
                    self._note_heartbeat(bytes(reply))
                elif reply.get_type() == "HEARTBEAT":
                    self.heartbeat = reply
                if client is not None:
                    try:
                        client.sendall(data)
                    except OSError:
                        return

    def send_time(self, time_boot_ms: int) -> None:
        """A SYSTEM_TIME: moves the vehicle clock the link measures waits on."""
        unix_us = int(time.time() * 1e6)
        self.send(self.mav.system_time_encode(unix_us, time_boot_ms))

    def statustext(self, severity: int, text: str) -> Any:
        return self.mav.statustext_encode(severity, text.encode())

    def command_ack(self, command: int, result: int) -> Any:
        return self.mav.command_ack_encode(command, result, 0, 0, 255, 190)

    def wait_for(
        self, predicate: Callable[[Any], bool], timeout_s: float = 5.0, start: int = 0
    ) -> Any:
        """The first message the link sent (from index ``start``) that matches; bounded."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for msg in self.received[start:]:
                    if predicate(msg):
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"the link did not send the expected message in {timeout_s} s"
                    )
                self._cond.wait(remaining)

    def sent_of(self, msg_type: str) -> list[Any]:
        with self._cond:
            return [m for m in self.received if m.get_type() == msg_type]

    def enable_signing(self, key: bytes, initial_timestamp: int) -> None:
        """Sign everything from now on, as ArduPilot does after SETUP_SIGNING (+60 s)."""
        signing = self.mav.signing
        signing.secret_key = key
        signing.sign_outgoing = True
        signing.timestamp = initial_timestamp + 6_000_000
        signing.link_id = 0 if self.channel0 else 1
        signing.allow_unsigned_callback = (lambda _mav, _id: True) if self.channel0 else None

    def disable_signing(self) -> None:
        signing = self.mav.signing
        signing.secret_key = None
        signing.sign_outgoing = False
        signing.allow_unsigned_callback = None

    def drop(self) -> None:
        """Close the link's TCP connection (a link loss)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
            client.close()

    def close(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        self.drop()
        self._thread.join(2.0)
        self._server.close()
        self._wake_r.close()
        self._wake_w.close()

    # ------------------------------------------------------------------ serving

    def _new_mav(self) -> Any:
        mav = mavlink().MAVLink(None, srcSystem=self.sysid, srcComponent=self.compid)
        mav.robust_parsing = True
        return mav

    def _note_heartbeat(self, data: bytes) -> None:
        if not (data[:1] == b"\xfd" and data[7:10] == b"\x00\x00\x00"):  # MAVLink 2 msgid 0
            return
        parser = self._new_mav()
        for msg in parser.parse_buffer(data) or []:
            if msg.get_type() == "HEARTBEAT" and msg.get_srcSystem() == self.sysid:
                self.heartbeat = msg

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._server, self._wake_r], [], [], 1.0)
            if self._server not in ready:
                continue
            client, _ = self._server.accept()
            if self.reject_connections:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._client = client
            if self.greet:
                self.send(None)
            self._read(client)

    def _read(self, client: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([client, self._wake_r], [], [], 1.0)
                if client not in ready:
                    continue
                data = client.recv(65536)
            except (OSError, ValueError):
                return
            if not data:
                self.drop()
                return
            for msg in self.mav.parse_buffer(data) or []:
                if msg.get_type() != "BAD_DATA":
                    self._handle(msg)

    def _handle(self, msg: Any) -> None:
        with self._cond:
            self.received.append(msg)
            self._cond.notify_all()
        if msg.get_type() == "HEARTBEAT" and msg.type == 6 and self.answer_heartbeats:
            self.send(None)  # None: the current heartbeat, read under the lock
        handler = self.handlers.get(msg.get_type()) or self.handlers.get("*")
        if handler is not None:
            self.send(*(handler(msg) or ()))
