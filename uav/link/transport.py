"""The byte level of a link: a pymavlink connection (MAVLink 2) and the thread that reads it.

:class:`MavTransport` has the shape of dronekit's ``MAVConnection`` (``master``,
``forward_message``, ``forward_loop``, ``fix_targets``, ``target_system``), so a
``dronekit.Vehicle`` runs on it unchanged. It replaces ``MAVConnection`` because of what
pymavlink's TCP client and dronekit's connection do with a vehicle that is slow or gone:

* ``mavutil.mavtcp`` retries a refused connect with ``print(e, "sleeping")`` and
  ``time.sleep(1)``, and a connect to an unreachable host blocks for the OS TCP timeout (no
  socket timeout; ``MAVConnection`` cannot pass ``retries``). :class:`QuietTcp` makes one
  attempt bounded by a timeout and prints nothing.
* On a clean TCP close ``mavtcp`` prints ``EOF on TCP socket`` and returns no data; dronekit's
  reader does not see that as a disconnect and spins, printing the line ~150 000 times a
  second, until its 30 s heartbeat watchdog kills the connection for good. Here EOF and
  resets raise, the reader thread ends and the owner is told at once.
* ``mavtcp.write`` sends on a non-blocking socket and ignores a partial send, which would cut
  a packet in half under congestion; :meth:`QuietTcp.write` sends all of it or raises.
* pymavlink's ``check_signature`` records a packet's signing timestamp before it checks the
  signature, so one forged packet with a far-future timestamp makes every genuine packet
  after it look like a replay, and the link goes dead. :func:`verify_signature_first`
  checks the signature first.

Importing this module selects MAVLink 2 in pymavlink (``MAVLINK20``) before anything else
uses it. Without that, pymavlink starts in MAVLink 1 and, on the first MAVLink 2 packet,
swaps ``master.mav`` for a new object: dronekit's queued writer and target fixing, and any
signing set up on the old object, are silently dropped (seen with dronekit2 3.0.0 and
pymavlink 2.4.50).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

os.environ["MAVLINK20"] = "1"

from pymavlink import mavutil

if mavutil.mavlink.WIRE_PROTOCOL_VERSION != "2.0":  # pymavlink was imported before us
    mavutil.set_dialect(mavutil.current_dialect)

log = logging.getLogger(__name__)

READ_POLL_S = 0.1  # the reader wakes at least this often to notice close()
SEND_TIMEOUT_S = 2.0  # a send that cannot get its bytes out in this long means a dead link

MessageListener = Callable[[Any, Any], None]


def mavlink() -> Any:
    """pymavlink's current (MAVLink 2) dialect module: message classes and constants."""
    return mavutil.mavlink


class QuietTcp(mavutil.mavtcp):
    """pymavlink's TCP client with one bounded connect attempt, complete sends, and EOF or a
    reset raised as :class:`ConnectionAbortedError` instead of printed."""

    def __init__(
        self,
        address: str,
        *,
        connect_timeout_s: float,
        source_system: int,
        source_component: int,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        super().__init__(
            address,
            autoreconnect=False,
            source_system=source_system,
            source_component=source_component,
            retries=0,
        )

    def do_connect(self) -> None:
        sock = socket.create_connection(self.destination_addr, timeout=self._connect_timeout_s)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mavutil.set_close_on_exec(sock.fileno())
        self.port = sock

    def handle_disconnect(self) -> None:
        raise ConnectionAbortedError(errno.ECONNABORTED, "the vehicle reset the TCP connection")

    def handle_eof(self) -> None:
        raise ConnectionAbortedError(errno.ECONNABORTED, "the vehicle closed the TCP connection")

    def reconnect(self) -> None:
        raise ConnectionAbortedError(errno.ECONNABORTED, "the TCP connection is closed")

    def write(self, buf: bytes) -> None:
        if self.port is None:
            self.reconnect()
        view = memoryview(bytes(buf))
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while view:
            try:
                sent = self.port.send(view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise ConnectionAbortedError(errno.ECONNABORTED, f"send failed: {exc}") from exc
            view = view[sent:]
            remaining = deadline - time.monotonic()
            if view and remaining <= 0:
                raise ConnectionAbortedError(errno.ECONNABORTED, "send stalled")
            if view:
                select.select([], [self.port], [], remaining)

    def shutdown(self) -> None:
        """Wake a reader blocked in select() on this socket (it then sees EOF)."""
        if self.port is not None:
            with contextlib.suppress(OSError):
                self.port.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None  # type: ignore[assignment]  # pymavlink's own "closed" marker


def open_master(
    url: str, *, connect_timeout_s: float, source_system: int, source_component: int
) -> Any:
    """A pymavlink connection for ``tcp:HOST:PORT`` (bounded, quiet) or any other pymavlink
    URL (``udpin:``, ``udpout:``, a serial device), which open without waiting."""
    if url.startswith("tcp:"):
        return QuietTcp(
            url[4:],
            connect_timeout_s=connect_timeout_s,
            source_system=source_system,
            source_component=source_component,
        )
    return mavutil.mavlink_connection(
        url,
        source_system=source_system,
        source_component=source_component,
        autoreconnect=False,
        retries=0,
    )


SIGNING_EPOCH_UNIX_S = 1420070400  # 2015-01-01T00:00:00Z
_link_ids = itertools.count()
_link_ids_lock = threading.Lock()


def next_link_id() -> int:
    """A signing link id for a new DroneLink. The vehicle keeps one timestamp per (link id,
    system, component) for all its ports, so two links of this process to one vehicle with
    the same ids would refuse each other's packets as replays; each gets its own."""
    with _link_ids_lock:
        return next(_link_ids) % 256


def signing_timestamp(unix_s: float) -> int:
    """A UNIX time in MAVLink2 signing units: 10 µs since 2015-01-01 UTC."""
    return int((unix_s - SIGNING_EPOCH_UNIX_S) * 100_000)


def signing_timestamp_now() -> int:
    return signing_timestamp(time.time())


def verify_signature_first(mav: Any) -> None:
    """Make ``mav`` reject a badly signed packet before it can move the stream timestamps."""
    check_timestamps = mav.check_signature

    def check_signature(msgbuf: bytearray, src_system: int, src_component: int) -> bool:
        digest = hashlib.sha256(mav.signing.secret_key + bytes(msgbuf[:-6])).digest()
        if digest[:6] != bytes(msgbuf[-6:]):
            return False
        return bool(check_timestamps(msgbuf, src_system, src_component))

    mav.check_signature = check_signature


class MavTransport:
    """One open connection: sends under a lock, reads on its own thread, and hands every
    message (BAD_DATA included) to its listeners. dronekit's ``Vehicle`` accepts it as its
    handler; its loop hooks (``forward_loop``) are kept but never run (see connection.py)."""

    def __init__(
        self, master: Any, *, target_system: int, on_death: Callable[[BaseException], None]
    ) -> None:
        self.master = master
        self.target_system = target_system
        self.message_listeners: list[MessageListener] = []
        self.loop_listeners: list[Callable[[Any], None]] = []
        self.death: BaseException | None = None
        self._alive = True
        self._on_death = on_death
        self._send_lock = threading.Lock()
        raw_send = master.mav.send

        def send(msg: Any, force_mavlink1: bool = False) -> None:
            self.fix_targets(msg)
            with self._send_lock:
                raw_send(msg, force_mavlink1=force_mavlink1)

        master.mav.send = send
        verify_signature_first(master.mav)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"mavlink-rx {master.address}", daemon=True
        )

    # --- what dronekit.Vehicle uses

    def forward_message(self, fn: MessageListener) -> None:
        self.message_listeners.append(fn)

    def forward_loop(self, fn: Callable[[Any], None]) -> None:
        self.loop_listeners.append(fn)

    def fix_targets(self, msg: Any) -> None:
        """Address messages sent to system 0 (dronekit's habit) to the vehicle."""
        if getattr(msg, "target_system", None) == 0 and self.target_system:
            msg.target_system = self.target_system

    # --- life cycle

    @property
    def alive(self) -> bool:
        return self._alive

    def start(self) -> None:
        self._reader.start()

    def send(self, msg: Any) -> None:
        """Encode (and sign, if set up) and send one message; raises OSError on a dead link."""
        self.master.mav.send(msg)

    def close(self, timeout_s: float = 1.0) -> None:
        """Stop the reader (bounded) and close the socket. Safe to call more than once."""
        self._alive = False
        shutdown = getattr(self.master, "shutdown", None)
        if shutdown is not None:
            shutdown()
        if self._reader.ident is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout_s)
        with contextlib.suppress(OSError):
            self.master.close()

    def _read_loop(self) -> None:
        try:
            while self._alive:
                self.master.select(READ_POLL_S)
                self._drain()
        except Exception as exc:  # the connection died: tell the owner, whatever the cause
            if self._alive:
                self.death = exc
                self._alive = False
                self._on_death(exc)

    def _drain(self) -> None:
        while self._alive:
            msg = self.master.recv_msg()
            if msg is None:
                return
            for fn in list(self.message_listeners):
                try:
                    fn(self, msg)
                except Exception:
                    log.exception("listener failed on %s", msg.get_type())
