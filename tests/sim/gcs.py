"""A small ground station for the emulator tests: a real TCP client speaking MAVLink 2.

Every wait is bounded and given in vehicle seconds (divided by the speed-up, with a floor in
wall seconds for scheduling jitter); a wait that runs out raises :class:`WaitTimeout`
carrying the last value it saw.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

T = TypeVar("T")

GCS_SYSID, GCS_COMPID = 255, 190
MIN_WALL_WAIT_S = 0.5


class WaitTimeout(AssertionError):
    """A bounded wait ran out; ``last`` is the last value the condition produced."""

    def __init__(self, what: str, timeout_s: float, last: object) -> None:
        super().__init__(f"{what}: not within {timeout_s:g} vehicle s (last seen: {last!r})")
        self.last = last


@dataclass
class Received:
    vtime_s: float  # vehicle seconds since this client connected
    msg: Any

    @property
    def type(self) -> str:
        return str(self.msg.get_type())


class _Writer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)


class Gcs:
    """A ground station on one vehicle port (sysid 255, compid 190 by default)."""

    def __init__(
        self,
        port: int,
        speedup: float,
        *,
        compid: int = GCS_COMPID,
        heartbeat: bool = True,
        host: str = "127.0.0.1",
        target_system: int = 1,
    ) -> None:
        self.speedup = speedup
        self.target_system = target_system
        self.sock = socket.create_connection((host, port), timeout=5.0)
        self.sock.setblocking(False)
        self.started = time.monotonic()
        self.mav: Any = mavlink2.MAVLink(_Writer(self.sock), GCS_SYSID, compid)
        self.parser: Any = mavlink2.MAVLink(None)
        self.parser.robust_parsing = True
        self.received: list[Received] = []
        self.bad_data = bytearray()  # bytes that were not MAVLink (SITL's console text)
        self.heartbeat = heartbeat
        self._next_heartbeat = 0.0
        self.closed = False

    # ---- time ----
    def vtime(self) -> float:
        return (time.monotonic() - self.started) * self.speedup

    def wall_s(self, vehicle_s: float) -> float:
        return max(vehicle_s / self.speedup, MIN_WALL_WAIT_S)

    # ---- receiving ----
    def pump(self, wall_timeout_s: float = 0.005) -> list[Received]:
        """Read what has arrived (waiting at most ``wall_timeout_s``); returns new messages."""
        self._maybe_heartbeat()
        new: list[Received] = []
        ready, _, _ = select.select([self.sock], [], [], wall_timeout_s)
        while ready:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                raise ConnectionError("the vehicle closed the connection")
            new += self._parse(data)
            if len(data) < 65536:
                break
        self.received += new
        return new

    def _parse(self, data: bytes) -> list[Received]:
        now = self.vtime()
        out: list[Received] = []
        for msg in self.parser.parse_buffer(data) or []:
            if msg.get_type() == "BAD_DATA":
                self.bad_data += bytes(msg.data)
            else:
                out.append(Received(now, msg))
        return out

    def _maybe_heartbeat(self) -> None:
        if not self.heartbeat:
            return
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self.mav.heartbeat_send(6, 8, 0, 0, 4)
            self._next_heartbeat = now + 1.0 / self.speedup

    def wait_until(
        self,
        condition: Callable[[], T | None],
        timeout_s: float,
        what: str,
        hold_for_s: float = 0.0,
    ) -> T:
        """Pump until ``condition()`` is truthy (and stays so for ``hold_for_s`` vehicle s)."""
        deadline = time.monotonic() + self.wall_s(timeout_s)
        held_since: float | None = None
        last: T | None = None
        while True:
            last = condition()
            now = time.monotonic()
            if last:
                held_since = now if held_since is None else held_since
                if (now - held_since) * self.speedup >= hold_for_s:
                    return last
            else:
                held_since = None
            if now >= deadline:
                raise WaitTimeout(what, timeout_s, last)
            self.pump()

    def wait_for(
        self,
        types: str | Iterable[str],
        cond: Callable[[Any], bool] | None = None,
        timeout_s: float = 3.0,
        after: int | None = None,
    ) -> Any:
        """The first message of one of ``types`` for which ``cond`` holds, received after
        index ``after`` of :attr:`received` (default: from now on; see :meth:`mark`)."""
        wanted = {types} if isinstance(types, str) else set(types)
        position = len(self.received) if after is None else after
        seen: list[Any] = []

        def found() -> Any:
            nonlocal position
            while position < len(self.received):
                rec = self.received[position]
                position += 1
                if rec.type in wanted:
                    seen.append(rec.msg)
                    if cond is None or cond(rec.msg):
                        return rec.msg
            return None

        try:
            return self.wait_until(found, timeout_s, f"a {'/'.join(sorted(wanted))}")
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"a matching {'/'.join(sorted(wanted))}", timeout_s, seen[-1] if seen else None
            ) from exc

    def mark(self) -> int:
        """The current position in :attr:`received`, for ``wait_for(after=...)``."""
        return len(self.received)

    def run_for(self, vehicle_s: float) -> list[Received]:
        """Receive for ``vehicle_s`` vehicle seconds; returns what arrived."""
        start = len(self.received)
        end = time.monotonic() + vehicle_s / self.speedup
        while time.monotonic() < end:
            self.pump(min(0.005, max(0.0, end - time.monotonic())))
        return self.received[start:]

    def run_until(self, vehicle_s: float) -> None:
        """Receive until ``vehicle_s`` vehicle seconds after connecting."""
        self.run_for(max(0.0, vehicle_s - self.vtime()))

    def stamp(self, index: int) -> float:
        """Vehicle seconds when the message at ``index`` of :attr:`received` was sent, at most
        one stream interval late: the time_boot_ms of the first stamped message from there on
        (one TCP stream keeps the vehicle's order). Unlike receive times, it does not depend
        on how promptly either side ran."""
        for rec in self.received[index:]:
            boot_ms = getattr(rec.msg, "time_boot_ms", None)
            if boot_ms is not None:
                return float(boot_ms) / 1000.0
        raise LookupError(f"no stamped message after index {index}")

    def index_of(self, msg: Any) -> int:
        return next(i for i, rec in enumerate(self.received) if rec.msg is msg)

    def since(self, vtime_s: float, types: str | Iterable[str] | None = None) -> list[Any]:
        wanted = None if types is None else ({types} if isinstance(types, str) else set(types))
        return [
            r.msg
            for r in self.received
            if r.vtime_s >= vtime_s and (wanted is None or r.type in wanted)
        ]

    def latest(self, type_: str) -> Any:
        for rec in reversed(self.received):
            if rec.type == type_:
                return rec.msg
        return None

    def texts_since(self, vtime_s: float) -> list[str]:
        return [m.text for m in self.since(vtime_s, "STATUSTEXT")]

    # ---- sending ----
    def command(self, command: int, *params: float) -> Any:
        """COMMAND_LONG; returns its COMMAND_ACK."""
        values = list(params) + [0.0] * (7 - len(params))
        mark = self.mark()
        self.mav.command_long_send(self.target_system, 1, command, 0, *values)
        return self.wait_for("COMMAND_ACK", lambda m: m.command == command, after=mark)

    def set_mode(self, mode: int) -> Any:
        return self.command(176, 1, mode)

    def request_streams(self, rate_hz: int, stream_id: int = 0) -> None:
        self.mav.request_data_stream_send(self.target_system, 1, stream_id, rate_hz, 1)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()
