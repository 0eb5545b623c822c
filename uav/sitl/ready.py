"""Wait until a freshly started vehicle can fly: HEARTBEAT, a 3-D GPS fix, EKF position.

ArduCopter SITL does not start its vehicle until a client connects to SERIAL0, so this wait
is also what boots it. Observed at speedup 1 (sitl-traces ``boot``): first HEARTBEAT at
1.0 s, GPS fix at 10.1 s, EKF using GPS (flags 0xa7 -> 0x33f) at 41.7 s of vehicle time.

The bound is in vehicle seconds (read from the vehicle's ``time_boot_ms``), with a
wall-clock backstop scaled by the speed-up. This module speaks just enough MAVLink itself
(pymavlink's encoder and parser over a plain socket), and uses the client link layer
``uav.link`` instead when that is installed (:mod:`uav.sitl.ready_link`).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from uav.errors import InputError
from uav.sitl.errors import SitlError, SitlTimeout

READY_TIMEOUT_VEHICLE_S = 120.0  # SITL needs ~42 s of vehicle time
CONNECT_TIMEOUT_S = 15.0  # wall seconds for the process to start listening
WALL_SLACK = 3.0  # the host may run the vehicle slower than speedup x wall time
GCS_HEARTBEAT_PERIOD_S = 1.0
REQUEST_AFTER_VEHICLE_S = 3.0  # ask for a missing message after this long without it
MSG_GPS_RAW_INT = 24
MSG_EKF_STATUS_REPORT = 193
MAV_CMD_SET_MESSAGE_INTERVAL = 511
MAV_CMD_COMPONENT_ARM_DISARM = 400
FORCE_DISARM = 21196  # param2 magic: disarm even in flight
DISARM_TIMEOUT_S = 10.0
DISARM_RETRY_S = 0.5
REQUEST_INTERVAL_US = 500_000
CONNECT_RETRY_S = 0.02
SEND_TIMEOUT_S = 2.0
_pause = threading.Event()  # never set: wait(t) is an interruptible pause between polls

# EKF_STATUS_REPORT flags (ESTIMATOR_STATUS_FLAGS)
EKF_ATTITUDE = 0x001
EKF_VELOCITY_HORIZ = 0x002
EKF_VELOCITY_VERT = 0x004
EKF_POS_HORIZ_ABS = 0x010
EKF_POS_VERT_ABS = 0x020
EKF_CONST_POS_MODE = 0x080
EKF_UNINITIALIZED = 0x400
EKF_GPS_GLITCH = 0x8000
EKF_NEEDED = (
    EKF_ATTITUDE | EKF_VELOCITY_HORIZ | EKF_VELOCITY_VERT | EKF_POS_HORIZ_ABS | EKF_POS_VERT_ABS
)
EKF_BAD = EKF_CONST_POS_MODE | EKF_UNINITIALIZED | EKF_GPS_GLITCH
GPS_FIX_3D = 3


@dataclass(frozen=True)
class ReadyState:
    """What the wait has seen of the vehicle so far."""

    heartbeat: bool = False
    armed: bool | None = None
    fix_type: int | None = None
    satellites: int | None = None
    ekf_flags: int | None = None
    vehicle_time_s: float | None = None

    @property
    def gps_ok(self) -> bool:
        return self.fix_type is not None and self.fix_type >= GPS_FIX_3D

    @property
    def ekf_ok(self) -> bool:
        f = self.ekf_flags
        return f is not None and f & EKF_NEEDED == EKF_NEEDED and not f & EKF_BAD

    @property
    def ready(self) -> bool:
        return self.heartbeat and self.gps_ok and self.ekf_ok

    def describe(self) -> str:
        gps = "no GPS report" if self.fix_type is None else f"GPS fix {self.fix_type}"
        if self.satellites is not None and self.fix_type is not None:
            gps += f" ({self.satellites} sats)"
        ekf = "no EKF report" if self.ekf_flags is None else f"EKF flags {self.ekf_flags:#05x}"
        if self.ekf_flags is not None:
            ekf += " (position OK)" if self.ekf_ok else " (no position yet)"
        clock = "" if self.vehicle_time_s is None else f", vehicle time {self.vehicle_time_s:.1f} s"
        hb = "no HEARTBEAT"
        if self.heartbeat:
            hb = "HEARTBEAT (armed)" if self.armed else "HEARTBEAT"
        return f"{hb}, {gps}, {ekf}{clock}"


Progress = Callable[[ReadyState], None]


def parse_tcp_url(url: str) -> tuple[str, int]:
    """``tcp:HOST:PORT`` -> (host, port). Simulators are reached over TCP only."""
    parts = url.split(":")
    if len(parts) != 3 or parts[0] != "tcp" or not parts[2].isdigit():
        raise InputError(f"{url!r}: a simulator URL is tcp:HOST:PORT")
    port = int(parts[2])
    if not 0 < port < 65536:
        raise InputError(f"{url!r}: port {port} is out of range")
    return parts[1], port


def wait_ready(
    url: str,
    *,
    speedup: float,
    timeout_vehicle_s: float = READY_TIMEOUT_VEHICLE_S,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    is_alive: Callable[[], bool] | None = None,
    on_progress: Progress | None = None,
    via: str = "auto",
) -> ReadyState:
    """Connect to ``url`` (SERIAL0) and return once the vehicle is ready to fly.

    ``via``: ``link`` (the client link layer ``uav.link``), ``pymavlink`` (this module's
    own minimal client) or ``auto`` (the link layer when installed).

    Raises :class:`SitlTimeout` (``last_seen`` = the :class:`ReadyState`) when the vehicle is
    not ready after ``timeout_vehicle_s`` of vehicle time or the wall-clock backstop, and
    :class:`SitlError` when the process dies meanwhile.
    """
    from uav.sitl.ready_link import link_layer, wait_ready_via_link

    host, port = parse_tcp_url(url)
    alive = is_alive or (lambda: True)
    progress = on_progress or (lambda _s: None)
    wall_limit_s = timeout_vehicle_s / speedup * WALL_SLACK + connect_timeout_s
    module = link_layer() if via in ("auto", "link") else None
    if via == "link" and module is None:
        raise SitlError("the client link layer uav.link is not installed")
    if module is not None:
        return cast(
            ReadyState,
            wait_ready_via_link(
                module,
                url,
                (host, port),
                timeout_vehicle_s=timeout_vehicle_s,
                wall_limit_s=wall_limit_s,
                connect_timeout_s=connect_timeout_s,
                alive=alive,
                on_progress=progress,
            ),
        )
    sock = _connect(host, port, connect_timeout_s, alive)
    try:
        return _MiniLink(sock).wait(
            timeout_vehicle_s=timeout_vehicle_s,
            wall_limit_s=wall_limit_s,
            speedup=speedup,
            alive=alive,
            on_progress=progress,
        )
    finally:
        sock.close()


def force_disarm(url: str, *, timeout_s: float = DISARM_TIMEOUT_S) -> ReadyState:
    """Disarm the vehicle at ``url`` (forced, as a test teardown needs), bounded in wall time.

    Returns once a HEARTBEAT shows it disarmed; raises :class:`SitlTimeout` otherwise.
    """
    host, port = parse_tcp_url(url)
    sock = _connect(host, port, min(timeout_s, CONNECT_TIMEOUT_S), lambda: True)
    try:
        return _MiniLink(sock).disarm(timeout_s)
    finally:
        sock.close()


def _connect(host: str, port: int, timeout_s: float, alive: Callable[[], bool]) -> socket.socket:
    """Connect, retrying while the process starts; bounded by ``timeout_s`` (wall)."""
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if not alive():
            raise SitlError(f"the simulator exited before listening on {host}:{port}")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
        try:
            s.connect((host, port))
        except OSError as exc:
            s.close()
            last_error = str(exc)
            _pause.wait(CONNECT_RETRY_S)
            continue
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(SEND_TIMEOUT_S)  # reads only after select() says there is data
        return s
    raise SitlTimeout(
        f"nothing listening on {host}:{port} after {timeout_s:g} s ({last_error})", last_error
    )


class _MiniLink:
    """Just enough of a ground station: GCS heartbeats, parsing, message-interval requests."""

    def __init__(self, sock: socket.socket) -> None:
        from pymavlink.dialects.v20 import ardupilotmega

        self.sock = sock
        self.mav: Any = ardupilotmega.MAVLink(None, srcSystem=255, srcComponent=190)
        self.mav.robust_parsing = True  # SITL prints console text on SERIAL0 at boot
        self.dialect: Any = ardupilotmega
        self.state = ReadyState()
        self.target: tuple[int, int] | None = None
        self.seen: set[str] = set()
        self.first_heartbeat_wall: float | None = None
        self.requested: set[int] = set()

    def wait(
        self,
        *,
        timeout_vehicle_s: float,
        wall_limit_s: float,
        speedup: float,
        alive: Callable[[], bool],
        on_progress: Progress,
    ) -> ReadyState:
        start = time.monotonic()
        next_heartbeat = start
        while True:
            now = time.monotonic()
            vehicle_s = self.state.vehicle_time_s
            late = (vehicle_s or 0.0) > timeout_vehicle_s
            # Readiness read together with messages past the timeout (a reader starved for a
            # moment at a high speed-up) is still late: the vehicle's clock decides.
            if self.state.ready and not late:
                return self.state
            if now - start > wall_limit_s or late:
                raise SitlTimeout(
                    f"vehicle not ready after {now - start:.1f} s wall"
                    f"{'' if vehicle_s is None else f' ({vehicle_s:.1f} s vehicle time)'}: "
                    f"last seen {self.state.describe()}",
                    self.state,
                )
            if not alive():
                raise SitlError(f"the simulator exited while booting: {self.state.describe()}")
            if now >= next_heartbeat:
                self._send_gcs_heartbeat()
                next_heartbeat = now + GCS_HEARTBEAT_PERIOD_S
            before = self.state
            self._read(timeout_s=min(0.1, max(0.0, next_heartbeat - now)))
            self._request_missing(speedup)
            if self.state != before:
                on_progress(self.state)

    def disarm(self, timeout_s: float) -> ReadyState:
        deadline = time.monotonic() + timeout_s
        next_heartbeat = next_command = time.monotonic()
        while self.state.armed is not False:
            now = time.monotonic()
            if now >= deadline:
                raise SitlTimeout(
                    f"vehicle not disarmed after {timeout_s:g} s: {self.state.describe()}",
                    self.state,
                )
            if now >= next_heartbeat:
                self._send_gcs_heartbeat()
                next_heartbeat = now + GCS_HEARTBEAT_PERIOD_S
            if self.state.armed and self.target is not None and now >= next_command:
                self._send(
                    self.mav.command_long_encode(
                        *self.target,
                        MAV_CMD_COMPONENT_ARM_DISARM,
                        0,
                        0,
                        FORCE_DISARM,
                        0,
                        0,
                        0,
                        0,
                        0,
                    )
                )
                next_command = now + DISARM_RETRY_S
            self._read(timeout_s=min(0.1, max(0.0, deadline - now)))
        return self.state

    def _read(self, timeout_s: float) -> None:
        readable, _, _ = select.select([self.sock], [], [], timeout_s)
        if not readable:
            return
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            raise SitlError(f"lost the vehicle: {exc}; {self.state.describe()}") from None
        if not data:
            raise SitlError(f"the vehicle closed the connection: {self.state.describe()}")
        for msg in self.mav.parse_buffer(data) or []:
            self._update(msg)

    def _update(self, msg: Any) -> None:
        kind = msg.get_type()
        if kind == "BAD_DATA" or msg.get_srcSystem() == 255:
            return
        self.seen.add(kind)
        s = self.state
        boot_ms = getattr(msg, "time_boot_ms", None)
        if isinstance(boot_ms, int) and boot_ms > 0:
            s = replace(s, vehicle_time_s=boot_ms / 1000.0)
        if kind == "HEARTBEAT" and msg.type != self.dialect.MAV_TYPE_GCS:
            self.target = (msg.get_srcSystem(), msg.get_srcComponent())
            if self.first_heartbeat_wall is None:
                self.first_heartbeat_wall = time.monotonic()
            armed = bool(msg.base_mode & self.dialect.MAV_MODE_FLAG_SAFETY_ARMED)
            s = replace(s, heartbeat=True, armed=armed)
        elif kind == "GPS_RAW_INT":
            s = replace(s, fix_type=int(msg.fix_type), satellites=int(msg.satellites_visible))
        elif kind == "EKF_STATUS_REPORT":
            s = replace(s, ekf_flags=int(msg.flags))
        self.state = s

    def _request_missing(self, speedup: float) -> None:
        """Copter streams nothing by default: ask once for what the wait needs if absent.

        The sitl_configs parameter files set MAV1_* stream rates, so this only matters for
        configurations that do not.
        """
        if self.target is None or self.first_heartbeat_wall is None:
            return
        if (time.monotonic() - self.first_heartbeat_wall) * speedup < REQUEST_AFTER_VEHICLE_S:
            return
        wanted = (("GPS_RAW_INT", MSG_GPS_RAW_INT), ("EKF_STATUS_REPORT", MSG_EKF_STATUS_REPORT))
        for kind, msg_id in wanted:
            if kind not in self.seen and msg_id not in self.requested:
                self.requested.add(msg_id)
                self._send(
                    self.mav.command_long_encode(
                        self.target[0],
                        self.target[1],
                        MAV_CMD_SET_MESSAGE_INTERVAL,
                        0,
                        msg_id,
                        REQUEST_INTERVAL_US,
                        0,
                        0,
                        0,
                        0,
                        0,
                    )
                )

    def _send_gcs_heartbeat(self) -> None:
        d = self.dialect
        self._send(self.mav.heartbeat_encode(d.MAV_TYPE_GCS, d.MAV_AUTOPILOT_INVALID, 0, 0, 4))

    def _send(self, msg: Any) -> None:
        try:
            self.sock.sendall(msg.pack(self.mav))
        except OSError as exc:
            raise SitlError(f"cannot send to the vehicle: {exc}") from None
