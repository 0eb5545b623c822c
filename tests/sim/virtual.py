"""A vehicle run in virtual time: timing checks that do not depend on the machine's load.

No server thread and no real clock: the test advances time itself, and SERIAL0 is one end of
a TCP connection, so what the vehicle sends is a real MAVLink byte stream, read back and stamped
with the virtual time at which it was sent.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from uav.sim import EmulatedVehicle
from uav.sim.clock import VehicleClock
from uav.sim.parts import PartFactories


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets on 127.0.0.1 (links are TCP)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        peer = socket.create_connection(server.getsockname(), timeout=5.0)
        ours, _ = server.accept()
    return ours, peer


class _Writer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)


class VirtualVehicle:
    """An :class:`EmulatedVehicle` on virtual time with a ground station on SERIAL0."""

    def __init__(
        self, *, step_s: float = 0.01, parts: PartFactories | None = None, **kw: Any
    ) -> None:
        self.t = 0.0
        self.step_s = step_s
        self.vehicle = EmulatedVehicle(0, parts=parts or PartFactories.none(), **kw)
        self.vehicle.clock = VehicleClock(1.0, monotonic=lambda: self.t, unix=time.time)
        ours, self.peer = tcp_pair()
        self.peer.setblocking(False)
        self.link = self.vehicle.links[0]
        self.link.attach(ours)
        self.vehicle.on_connect(0)  # boots at t = 0
        self.mav: Any = mavlink2.MAVLink(_Writer(self.peer), 255, 190)
        self.parser: Any = mavlink2.MAVLink(None)
        self.parser.robust_parsing = True
        self.received: list[tuple[float, Any]] = []

    def close(self) -> None:
        self.link.detach()
        self.peer.close()

    def run_until(self, t_end_s: float) -> None:
        while self.t < t_end_s - 1e-9:
            self.t = min(t_end_s, self.t + self.step_s)
            msgs = self.link.receive()
            if msgs:
                self.vehicle.on_receive(self.link, msgs)
            self.vehicle.poll(self.t)
            self._drain()

    def run_for(self, seconds: float) -> None:
        self.run_until(self.t + seconds)

    def _drain(self) -> None:
        self.link.flush()
        while True:
            try:
                data = self.peer.recv(65536)
            except BlockingIOError:
                return
            for msg in self.parser.parse_buffer(data) or []:
                if msg.get_type() != "BAD_DATA":
                    self.received.append((self.t, msg))

    def run_until_true(self, condition: Any, timeout_s: float, what: str) -> None:
        end = self.t + timeout_s
        while not condition():
            if self.t >= end:
                raise AssertionError(f"{what}: not within {timeout_s} virtual s")
            self.run_for(self.step_s)

    # ---- reading ----
    def of_type(self, kind: str, since_s: float = 0.0) -> list[tuple[float, Any]]:
        return [(t, m) for t, m in self.received if m.get_type() == kind and t >= since_s]

    def latest(self, kind: str) -> Any:
        found = self.of_type(kind)
        return found[-1][1] if found else None

    def text_times(self, text: str) -> list[float]:
        return [t for t, m in self.of_type("STATUSTEXT") if m.text == text]

    def text_time(self, prefix: str) -> float:
        return next(t for t, m in self.of_type("STATUSTEXT") if m.text.startswith(prefix))

    # ---- sending ----
    def command(self, command: int, *params: float) -> Any:
        values = list(params) + [0.0] * (7 - len(params))
        since = self.t
        self.mav.command_long_send(1, 1, command, 0, *values)
        self.run_for(0.05)
        acks = [m for t, m in self.of_type("COMMAND_ACK", since) if m.command == command]
        assert acks, f"no COMMAND_ACK for {command}"
        return acks[0]
