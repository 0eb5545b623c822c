"""Runs emulated vehicles: one thread, one selector, any number of vehicles.

Each vehicle is polled when it next needs to be (its next simulation step, HEARTBEAT or
stream message) and whenever one of its sockets has data. Sockets never block: output is
buffered per link and written as the client takes it.

A vehicle's bug must not pass unnoticed: an exception in a vehicle is printed to stderr and
kept in :attr:`EmulatorServer.errors` (tests fail on it); the other vehicles keep running.
"""

from __future__ import annotations

import contextlib
import math
import selectors
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from uav.errors import UavError
from uav.sim.links import Link
from uav.sim.ports import BACKLOG, HOST, bind_port
from uav.sim.vehicle import EmulatedVehicle

MAX_SELECT_S = 0.05
MAX_ERRORS = 100


class EmulatorError(UavError):
    """The emulator cannot run as asked (a port is in use, a vehicle is added twice)."""


@dataclass
class _Port:
    """One TCP port of one vehicle: its listening socket and the link it serves."""

    vehicle: EmulatedVehicle
    link: Link
    listener: socket.socket
    listening: bool = False
    watching: bool = False
    client_events: int = 0


@dataclass
class _Entry:
    vehicle: EmulatedVehicle
    ports: list[_Port] = field(default_factory=list)
    next_wall_s: float = math.inf


class EmulatorServer:
    """Several :class:`EmulatedVehicle` instances served from one thread."""

    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.errors: list[str] = []
        self._selector = selectors.DefaultSelector()
        self._entries: list[_Entry] = []
        self._pending: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, data=None)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ public API
    @property
    def vehicles(self) -> list[EmulatedVehicle]:
        with self._lock:
            return [e.vehicle for e in self._entries]

    def add(
        self, vehicle: EmulatedVehicle, bound: Mapping[int, socket.socket] | None = None
    ) -> None:
        """Bind the vehicle's ports now (SERIAL0 listening at once) and start serving it.
        ``bound``: sockets already bound to some of its ports, by link index (see
        :func:`uav.sim.ports.bind_port`)."""
        if any(e.vehicle is vehicle for e in self._entries):
            raise EmulatorError("this vehicle is already served")
        entry = _Entry(vehicle, self._bind(vehicle, bound or {}))
        vehicle.attached(self)
        self._call_in_loop(lambda: self._register(entry))

    def remove(self, vehicle: EmulatedVehicle) -> None:
        done = threading.Event()

        def drop() -> None:
            for entry in [e for e in self._entries if e.vehicle is vehicle]:
                self._close_entry(entry)
                self._entries.remove(entry)
            vehicle.attached(None)
            done.set()

        self._call_in_loop(drop)
        if self._thread is not None and self._thread is not threading.current_thread():
            done.wait(timeout=5.0)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="uav-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)
        self._thread = None
        self._run_pending()
        for entry in self._entries:
            self._close_entry(entry)
            entry.vehicle.attached(None)
        self._entries.clear()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ sockets
    def _bind(self, vehicle: EmulatedVehicle, bound: Mapping[int, socket.socket]) -> list[_Port]:
        ports: list[_Port] = []
        try:
            for link, number in zip(vehicle.links, vehicle.ports, strict=True):
                if number is None:
                    continue
                sock = bound.get(link.index)
                if sock is None:
                    sock = bind_port(self.host, number, listen=link.index == 0)
                ports.append(_Port(vehicle, link, sock, listening=link.index == 0))
        except OSError as exc:
            for port in ports:
                port.listener.close()
            raise EmulatorError(
                f"cannot listen on {self.host} ports {vehicle.ports}: {exc.strerror or exc}"
            ) from None
        return ports

    def _register(self, entry: _Entry) -> None:
        self._entries.append(entry)
        for port in entry.ports:
            if port.listening:
                self._watch_listener(port, True)

    def _watch_listener(self, port: _Port, on: bool) -> None:
        if on and not port.watching:
            self._selector.register(port.listener, selectors.EVENT_READ, data=("accept", port))
        elif not on and port.watching:
            self._selector.unregister(port.listener)
        port.watching = on

    def _accept(self, port: _Port) -> None:
        if port.link.connected:
            self._watch_listener(port, False)  # one client at a time, like SITL's serial ports
            return
        try:
            conn, _ = port.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        port.link.attach(conn)
        self._watch_listener(port, False)
        port.client_events = selectors.EVENT_READ
        self._selector.register(conn, selectors.EVENT_READ, data=("client", port))
        vehicle = port.vehicle
        with vehicle.lock:
            vehicle.on_connect(port.link.index)
        self._open_late_ports(port)
        self._poll_now(port.vehicle)

    def _open_late_ports(self, port: _Port) -> None:
        """SERIAL1/2 start listening once the vehicle has booted."""
        if not port.vehicle.booted:
            return
        for entry in self._entries:
            if entry.vehicle is not port.vehicle:
                continue
            for other in entry.ports:
                if not other.listening:
                    try:
                        other.listener.listen(BACKLOG)
                    except OSError as exc:
                        self._report(f"SERIAL{other.link.index}: cannot listen: {exc}")
                        continue
                    other.listening = True
                    self._watch_listener(other, True)

    def _client_event(self, port: _Port, mask: int) -> None:
        if mask & selectors.EVENT_WRITE and not port.link.flush():
            self._disconnect(port)
            return
        if mask & selectors.EVENT_READ:
            msgs = port.link.receive()
            if msgs is None:
                self._disconnect(port)
                return
            if msgs:
                with port.vehicle.lock:
                    port.vehicle.on_receive(port.link, msgs)
                self._poll_now(port.vehicle)
        self._update_write_interest(port)

    def _disconnect(self, port: _Port) -> None:
        sock = port.link.sock
        if sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
        port.link.detach()
        port.client_events = 0
        if port.listening:
            self._watch_listener(port, True)

    def _update_write_interest(self, port: _Port) -> None:
        sock = port.link.sock
        if sock is None:
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if port.link.out else 0)
        if wanted != port.client_events:
            self._selector.modify(sock, wanted, data=("client", port))
            port.client_events = wanted

    def _flush_vehicle(self, vehicle: EmulatedVehicle) -> None:
        for entry in self._entries:
            if entry.vehicle is not vehicle:
                continue
            for port in entry.ports:
                if port.link.connected and port.link.out:
                    if not port.link.flush():
                        self._disconnect(port)
                    else:
                        self._update_write_interest(port)

    def _close_entry(self, entry: _Entry) -> None:
        for port in entry.ports:
            if port.link.connected:
                self._disconnect(port)
            if port.watching:
                self._watch_listener(port, False)
            port.listener.close()

    # ------------------------------------------------------------------ the loop
    def _call_in_loop(self, action: Callable[[], None]) -> None:
        if self._thread is None or self._thread is threading.current_thread():
            action()
            return
        with self._lock:
            self._pending.append(action)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for action in pending:
            action()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._run_pending()
            timeout = self._timeout()
            for key, mask in self._selector.select(timeout):
                self._dispatch(key.data, mask)
            self._poll_due()

    def _timeout(self) -> float:
        soonest = min((e.next_wall_s for e in self._entries), default=math.inf)
        return max(0.0, min(MAX_SELECT_S, soonest - time.monotonic()))

    def _dispatch(self, data: Any, mask: int) -> None:
        if data is None:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
            return
        kind, port = data
        try:
            if kind == "accept":
                self._accept(port)
            else:
                self._client_event(port, mask)
        except Exception:
            self._report(traceback.format_exc())

    def _poll_due(self) -> None:
        now = time.monotonic()
        for entry in self._entries:
            if now >= entry.next_wall_s:
                self._poll(entry, now)

    def _poll_now(self, vehicle: EmulatedVehicle) -> None:
        for entry in self._entries:
            if entry.vehicle is vehicle:
                self._poll(entry, time.monotonic())

    def _poll(self, entry: _Entry, now: float) -> None:
        vehicle = entry.vehicle
        try:
            with vehicle.lock:
                entry.next_wall_s = vehicle.poll(now)
        except Exception:
            entry.next_wall_s = now + 0.1
            self._report(traceback.format_exc())
        self._flush_vehicle(vehicle)

    def _report(self, text: str) -> None:
        """Keep (up to MAX_ERRORS) and print an error; a repeat of the last one is only kept."""
        repeat = bool(self.errors) and self.errors[-1] == text
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)
        if not repeat:
            print(f"uav.sim: {text}", file=sys.stderr, flush=True)
