"""One ground-station connection to one drone: :class:`DroneLink`.

A DroneLink opens a pymavlink connection (MAVLink 2, source 255/190 as in the traces), runs a
``dronekit.Vehicle`` on it for dronekit's attributes and message listeners, and keeps its own
:class:`~uav.link.state.VehicleState` snapshot, which every wait in :mod:`uav.link` reads.

What is taken from dronekit2 and what is not (dronekit2 3.0.0, checked against its source and
against a replay of the boot trace):

* Used: ``Vehicle`` — attributes (``mode``, ``armed``, ``location``, ``battery``,
  ``gps_0``, ``home_location``, ...) and ``add_message_listener``; every message reaches the
  link through a ``"*"`` listener on it. :attr:`DroneLink.vehicle` gives it to callers.
* Not used: ``dronekit.connect()``. Its ``initialize()`` loops with no bound
  (``while True: param_fetch_all(); sleep(0.1)``) until a first PARAM_VALUE arrives, then
  always starts a full parameter download (1333 parameters on SITL); its heartbeat watchdog
  raises inside the reader thread after 30 s and the connection is gone for good (no
  reconnect); ``MAVConnection.close()`` waits for the send queue with no bound. Its
  connection class is replaced by :class:`~uav.link.transport.MavTransport` (see there for
  the pymavlink TCP problems). ``Vehicle``'s loop hooks are not run: they would start that
  background parameter download and its watchdog; the link sends its own GCS HEARTBEAT and
  watches the vehicle's.
* Not used for commands: ``Vehicle.mode = ...`` sends SET_MODE (message 11), which ArduPilot
  never answers with a COMMAND_ACK; ``arm()`` waits with no bound by default;
  ``parameters.set`` polls with sleeps; ``commands`` (missions) speaks only the float
  MISSION_ITEM protocol for mission type 0 and ignores MISSION_ACK errors. The link's own
  :mod:`~uav.link.commands` and :mod:`~uav.link.missions` do these with pymavlink messages on
  the same connection.
* MAVLink2 signing is not in dronekit; pymavlink's signing on the same connection works.

SITL sends no telemetry until asked, so the link requests MAV_DATA_STREAM_ALL on every
connect (and again if telemetry stops), and asks for HOME_POSITION.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import dronekit

from uav.link.errors import ConnectFailed, LinkError, LinkLost
from uav.link.state import LinkStatus, VehicleState, apply_bad_data, apply_message, with_link
from uav.link.subscription import Subscription
from uav.link.transport import (
    MavTransport,
    mavlink,
    next_link_id,
    open_master,
    signing_timestamp_now,
)

log = logging.getLogger(__name__)
# dronekit's Vehicle calls logging.basicConfig() when it is built (a root handler on stderr)
# and logs every vehicle STATUSTEXT on the "autopilot" logger (PreArm texts as CRITICAL).
# The link keeps STATUSTEXTs in VehicleState instead, so these loggers stay off the root.
for _name in ("dronekit", "autopilot"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False

MAV_TYPE_GCS = 6
MAV_AUTOPILOT_INVALID = 8
MAV_STATE_ACTIVE = 4
MAV_DATA_STREAM_ALL = 0
MAV_CMD_REQUEST_MESSAGE = 512
MSG_HOME_POSITION = 242
HISTORY = 512  # snapshots kept for waits that must see every change
TELEMETRY = frozenset({"SYS_STATUS", "GLOBAL_POSITION_INT", "GPS_RAW_INT", "SYSTEM_TIME"})


@dataclass(frozen=True)
class LinkConfig:
    source_system: int = 255
    source_component: int = 190
    target_system: int | None = None  # None: the first autopilot HEARTBEAT's system id
    target_component: int = 1
    connect_timeout_s: float = 10.0  # TCP connect, then again for the first HEARTBEAT (wall)
    heartbeat_timeout_s: float = 5.0  # no vehicle HEARTBEAT for this long (wall): link lost
    reconnect_attempts: int = 5
    reconnect_delay_s: float = 1.0
    stream_rate_hz: int = 4  # MAV_DATA_STREAM_ALL; 0 asks for nothing
    stream_check_s: float = 3.0  # ask again when no telemetry came for this long (wall)
    gcs_heartbeat_s: float = 1.0
    signing_key: bytes | None = field(default=None, repr=False)  # sign from the first packet
    signing_link_id: int | None = None  # None: a number of its own (next_link_id)


MessageCallback = Callable[["DroneLink", Any], None]


class DroneLink:
    """One connection to one drone; reconnects by itself; :meth:`close` always works."""

    def __init__(self, url: str, config: LinkConfig | None = None, *, name: str = "") -> None:
        self.url = url
        self.config = config or LinkConfig()
        self.name = name or url
        self._cond = threading.Condition()
        self._state = VehicleState()
        self._history: deque[VehicleState] = deque(maxlen=HISTORY)
        self._target_system = self.config.target_system
        self._transport: MavTransport | None = None
        self._vehicle: Any = None
        self._epoch = 0
        self._heartbeat_mono: float | None = None
        self._telemetry_mono: float | None = None
        self._streams_asked_mono = 0.0
        self._subscriptions: list[Subscription] = []
        self._listeners: list[MessageCallback] = []
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._signing_key = self.config.signing_key
        self._accept_unsigned = self.config.signing_key is None
        self._sign_outgoing = True
        self._signing_timestamp = 0
        self._link_id = (
            self.config.signing_link_id
            if self.config.signing_link_id is not None
            else next_link_id()
        )
        self._encoder = mavlink().MAVLink(
            None, srcSystem=self.config.source_system, srcComponent=self.config.source_component
        )

    def __repr__(self) -> str:
        return f"DroneLink({self.name!r}, {self._state.link})"

    def __enter__(self) -> DroneLink:
        if self._supervisor is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> VehicleState:
        with self._cond:
            return self._state

    @property
    def target_system(self) -> int:
        return self._target_system or 0

    @property
    def target_component(self) -> int:
        return self.config.target_component

    @property
    def mav(self) -> Any:
        """A pymavlink encoder for building messages (``link.mav.command_long_encode(...)``);
        send them with :meth:`send`."""
        return self._encoder

    @property
    def vehicle(self) -> Any:
        """The ``dronekit.Vehicle`` of the current connection (a new one after a reconnect)."""
        return self._vehicle

    def open(self) -> VehicleState:
        """Connect and wait (bounded) for the first vehicle HEARTBEAT; raises ConnectFailed."""
        if self._supervisor is not None or self._closing.is_set():
            raise LinkError(f"{self.url}: a DroneLink is opened once")
        try:
            self._connect()
        except ConnectFailed as exc:
            self._set_link(LinkStatus.FAILED, exc.detail)
            raise
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"link-supervisor {self.name}", daemon=True
        )
        self._supervisor.start()
        return self.state

    def close(self) -> None:
        """Stop everything and close the connection. Never raises; safe to call twice."""
        self._closing.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(self.config.connect_timeout_s + 2.0)
        self._drop_transport("link closed")
        if self.state.link != LinkStatus.CLOSED:
            self._set_link(LinkStatus.CLOSED, "closed")

    def send(self, msg: Any) -> None:
        """Send one message; raises :class:`LinkLost` unless the link is connected."""
        with self._cond:
            transport = self._transport
            state = self._state
        if transport is None or state.link != LinkStatus.CONNECTED:
            raise LinkLost(self.url, f"the link is {state.link}", state)
        try:
            transport.send(msg)
        except OSError as exc:
            self._wake.set()
            raise LinkLost(self.url, f"send failed: {exc}", self.state) from exc

    def subscribe(self, *types: str) -> Subscription:
        """Queue the vehicle's messages of these types from now on (use as a context manager)."""
        sub = Subscription(self, frozenset(types))
        with self._cond:
            status = self._state.link
            if status == LinkStatus.CONNECTED:
                self._subscriptions.append(sub)
        if status != LinkStatus.CONNECTED:
            sub.fail(f"the link is {status}")
        return sub

    def add_message_listener(self, fn: MessageCallback) -> None:
        """Call ``fn(link, msg)`` on the reader thread for every message (BAD_DATA included);
        kept across reconnects. ``fn`` must return quickly."""
        with self._cond:
            self._listeners.append(fn)

    def remove_message_listener(self, fn: MessageCallback) -> None:
        with self._cond:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def wait_for_update(self, after_version: int, timeout_s: float) -> VehicleState:
        """The snapshot once its version is above ``after_version`` (or after ``timeout_s``
        wall seconds, or when the link closes), whichever comes first."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._state.version > after_version or self._closing.is_set(),
                max(0.0, timeout_s),
            )
            return self._state

    def wait_for_updates(self, after_version: int, timeout_s: float) -> list[VehicleState]:
        """Every snapshot newer than ``after_version``, oldest first (the last
        :data:`HISTORY` at most), once there is one, or [] after ``timeout_s`` wall seconds."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._state.version > after_version or self._closing.is_set(),
                max(0.0, timeout_s),
            )
            newer: list[VehicleState] = []
            for state in reversed(self._history):
                if state.version <= after_version:
                    break
                newer.append(state)
            return newer[::-1]

    def use_signing(
        self, key: bytes | None, *, accept_unsigned: bool, sign_outgoing: bool = True
    ) -> None:
        """Verify the vehicle's signed packets with ``key`` and sign every packet sent from
        now on (unless ``sign_outgoing`` is False); None stops signing. ``accept_unsigned``
        lets unsigned (or wrongly signed) packets from the vehicle through. Used by
        :mod:`uav.link.signing`; kept across reconnects."""
        with self._cond:
            self._signing_key = key
            self._sign_outgoing = sign_outgoing
            self._accept_unsigned = accept_unsigned
            transport = self._transport
        if transport is not None:
            self._apply_signing(transport.master)

    def set_accept_unsigned(self, accept: bool) -> None:
        """Accept (or refuse) unsigned packets from the vehicle, keeping the signing key."""
        with self._cond:
            self._accept_unsigned = accept

    @property
    def signing(self) -> bool:
        """Whether the link signs what it sends."""
        with self._cond:
            return self._signing_key is not None and self._sign_outgoing

    # ------------------------------------------------------------------ connecting

    def _connect(self, *, reconnecting: bool = False) -> None:
        cfg = self.config
        try:
            master = open_master(
                self.url,
                connect_timeout_s=cfg.connect_timeout_s,
                source_system=cfg.source_system,
                source_component=cfg.source_component,
            )
        except (OSError, ValueError) as exc:
            raise ConnectFailed(self.url, f"cannot connect: {exc}") from None
        with self._cond:
            self._epoch += 1
            epoch = self._epoch
            self._heartbeat_mono = None
            self._telemetry_mono = None
        transport = MavTransport(
            master,
            target_system=self.target_system,
            on_death=lambda exc: self._on_death(epoch, exc),
        )
        self._apply_signing(master)
        vehicle = dronekit.Vehicle(cast(Any, transport))  # duck-typed MAVConnection
        vehicle.add_message_listener("*", lambda _v, _n, msg: self._on_message(epoch, msg))
        with self._cond:
            self._transport, self._vehicle = transport, vehicle
        transport.start()
        try:
            self._await_heartbeat(transport)
        except ConnectFailed:
            self._drop_transport("connect failed")
            raise
        transport.target_system = self.target_system
        self._request_telemetry(transport)
        with self._cond:
            if self._state.link != LinkStatus.CLOSED:
                state = with_link(self._state, LinkStatus.CONNECTED)
                if reconnecting:
                    state = replace(state, reconnects=state.reconnects + 1)
                self._publish(state)

    def _await_heartbeat(self, transport: MavTransport) -> None:
        deadline = time.monotonic() + self.config.connect_timeout_s
        next_beat = 0.0
        while True:
            with self._cond:
                if self._heartbeat_mono is not None:
                    return
                now = time.monotonic()
                if self._closing.is_set():
                    raise ConnectFailed(self.url, "closed while connecting")
                if not transport.alive:
                    raise ConnectFailed(self.url, f"connection dropped: {transport.death}")
                if now >= deadline:
                    raise ConnectFailed(self.url, self._no_heartbeat_detail())
                if now < next_beat:
                    self._cond.wait(min(deadline, next_beat) - now)
                    continue
            self._send_gcs_heartbeat(transport)
            next_beat = time.monotonic() + self.config.gcs_heartbeat_s

    def _no_heartbeat_detail(self) -> str:
        detail = f"no HEARTBEAT from the vehicle within {self.config.connect_timeout_s:g} s"
        if self._signing_key is not None and self._state.bad_data_count:
            detail += " (packets arrived that do not verify with this link's signing key)"
        return detail

    def _request_telemetry(self, transport: MavTransport) -> None:
        tsys, tcomp = self.target_system, self.target_component
        if self.config.stream_rate_hz > 0:
            rate = self.config.stream_rate_hz
            self._send_quietly(
                transport,
                self._encoder.request_data_stream_encode(tsys, tcomp, MAV_DATA_STREAM_ALL, rate, 1),
            )
        self._send_quietly(
            transport,
            self._encoder.command_long_encode(
                tsys, tcomp, MAV_CMD_REQUEST_MESSAGE, 0, MSG_HOME_POSITION, 0, 0, 0, 0, 0, 0
            ),
        )
        self._streams_asked_mono = time.monotonic()

    def _send_gcs_heartbeat(self, transport: MavTransport) -> None:
        beat = self._encoder.heartbeat_encode(
            MAV_TYPE_GCS, MAV_AUTOPILOT_INVALID, 0, 0, MAV_STATE_ACTIVE
        )
        self._send_quietly(transport, beat)

    def _send_quietly(self, transport: MavTransport, msg: Any) -> None:
        """Send for the link's own housekeeping: a failure shows as a dead transport."""
        try:
            transport.send(msg)
        except OSError as exc:
            log.debug("%s: send failed: %s", self.name, exc)
            self._wake.set()

    def _apply_signing(self, master: Any) -> None:
        with self._cond:
            key, sign_outgoing = self._signing_key, self._sign_outgoing
        signing = master.mav.signing
        self._signing_timestamp = max(self._signing_timestamp, signing.timestamp)
        if key is None:
            if signing.secret_key is not None:
                master.disable_signing()
            return
        master.setup_signing(
            key,
            sign_outgoing=sign_outgoing,
            allow_unsigned_callback=self._allow_unsigned,
            initial_timestamp=max(signing_timestamp_now(), self._signing_timestamp + 1),
            link_id=self._link_id,
        )

    def _allow_unsigned(self, _mav: Any, _msg_id: int) -> bool:
        return self._accept_unsigned

    # ------------------------------------------------------------------ receiving

    def _on_message(self, epoch: int, msg: Any) -> None:
        wall_s = time.time()
        with self._cond:
            if epoch != self._epoch:
                return
            self._learn_target(msg)
            if msg.get_type() == "BAD_DATA":
                new = apply_bad_data(self._state)
            elif self._target_system is not None:
                new = apply_message(
                    self._state,
                    msg,
                    wall_s=wall_s,
                    target_system=self._target_system,
                    target_component=self.config.target_component,
                )
            else:
                new = self._state
            if new is not self._state:
                if new.last_heartbeat_wall_s != self._state.last_heartbeat_wall_s:
                    self._heartbeat_mono = time.monotonic()
                if msg.get_type() in TELEMETRY:
                    self._telemetry_mono = time.monotonic()
                self._publish(new)
            from_vehicle = (
                msg.get_type() != "BAD_DATA" and msg.get_srcSystem() == self._target_system
            )
            subscriptions = list(self._subscriptions) if from_vehicle else []
            listeners = list(self._listeners)
        for sub in subscriptions:
            sub.offer(msg)
        for fn in listeners:
            try:
                fn(self, msg)
            except Exception:
                log.exception("%s: message listener failed", self.name)

    def _learn_target(self, msg: Any) -> None:
        if self._target_system is not None or msg.get_type() != "HEARTBEAT":
            return
        if msg.type != MAV_TYPE_GCS and msg.autopilot != MAV_AUTOPILOT_INVALID:
            self._target_system = msg.get_srcSystem()

    def _on_death(self, epoch: int, exc: BaseException) -> None:
        log.debug("%s: connection %d died: %s", self.name, epoch, exc)
        self._wake.set()
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ supervision

    def _supervise(self) -> None:
        next_beat = time.monotonic() + self.config.gcs_heartbeat_s  # open() just sent one
        while not self._closing.is_set():
            loss = self._loss_reason()
            if loss is not None:
                if not self._recover(loss):
                    return
                next_beat = time.monotonic()
                continue
            now = time.monotonic()
            transport = self._transport
            if transport is not None and now >= next_beat:
                self._send_gcs_heartbeat(transport)
                next_beat = now + self.config.gcs_heartbeat_s
            if transport is not None:
                self._check_streams(transport, now)
            self._wake.wait(min(0.2, max(0.0, next_beat - time.monotonic())))
            self._wake.clear()

    def _loss_reason(self) -> str | None:
        with self._cond:
            transport, beat = self._transport, self._heartbeat_mono
        if transport is None or not transport.alive:
            death = transport.death if transport is not None else None
            return f"connection dropped ({death})" if death else "connection dropped"
        silent_s = time.monotonic() - (beat or 0.0)
        if silent_s > self.config.heartbeat_timeout_s:
            return f"no HEARTBEAT for {self.config.heartbeat_timeout_s:g} s"
        return None

    def _check_streams(self, transport: MavTransport, now: float) -> None:
        every = self.config.stream_check_s
        last = self._telemetry_mono
        quiet = last is None or now - last > every
        if quiet and now - self._streams_asked_mono > every:
            self._request_telemetry(transport)

    def _recover(self, reason: str) -> bool:
        """Mark the link lost and reconnect (bounded). False when it gave up or is closing."""
        self._drop_transport(reason)
        self._set_link(LinkStatus.LOST, reason)
        last = reason
        for attempt in range(self.config.reconnect_attempts):
            delay = self.config.reconnect_delay_s if attempt else 0.0
            if self._closing.wait(delay):
                return False
            try:
                self._connect(reconnecting=True)
            except ConnectFailed as exc:
                last = exc.detail
                continue
            return True
        attempts = self.config.reconnect_attempts
        self._set_link(LinkStatus.FAILED, f"{reason}; gave up after {attempts} attempts: {last}")
        return False

    # ------------------------------------------------------------------ helpers

    def _set_link(self, status: LinkStatus, detail: str) -> None:
        with self._cond:
            if self._state.link == LinkStatus.CLOSED:
                return
            self._publish(with_link(self._state, status, detail))

    def _publish(self, state: VehicleState) -> None:
        """Make ``state`` the current snapshot (call with ``_cond`` held)."""
        self._state = state
        self._history.append(state)
        self._cond.notify_all()

    def _drop_transport(self, reason: str) -> None:
        with self._cond:
            transport, self._transport = self._transport, None
            subscriptions, self._subscriptions = self._subscriptions, []
            self._epoch += 1
        for sub in subscriptions:
            sub.fail(reason)
        if transport is not None:
            self._signing_timestamp = max(
                self._signing_timestamp, transport.master.mav.signing.timestamp
            )
            transport.close()

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._cond:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
