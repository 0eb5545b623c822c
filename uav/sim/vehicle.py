"""One emulated ArduCopter: its links, clock, parameters, boot sequence and simulation loop.

:class:`EmulatedVehicle` implements :class:`uav.sim.interfaces.VehicleServices` for the
mission, fence and traffic parts, and runs inside an :class:`uav.sim.server.EmulatorServer`
(its own, from :meth:`EmulatedVehicle.start`, or a shared one for many vehicles).

Instance N listens on TCP 5760+10N (SERIAL0), 5762+10N (SERIAL1) and 5763+10N (SERIAL2).
SERIAL0 listens at once; the vehicle boots (its clock starts) when the first client connects
there, and only then do SERIAL1 and SERIAL2 accept connections, as SITL's do.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uav.errors import InputError
from uav.sim import boot as b
from uav.sim import sensors as _sensors  # noqa: F401  (registers the sensor builders)
from uav.sim.autopilot import Autopilot
from uav.sim.clock import VehicleClock
from uav.sim.constants import SEV_CRITICAL, VEHICLE_COMPID, mavlink2
from uav.sim.handlers import handle_message
from uav.sim.interfaces import Position
from uav.sim.links import Link
from uav.sim.param_protocol import ParamProtocol
from uav.sim.params import ParamStore, ParmEntry, read_parm_file
from uav.sim.parts import PartFactories, Parts
from uav.sim.physics import GeoOrigin
from uav.sim.ports import BASE_PORT, serial_ports
from uav.sim.signing import Signing
from uav.sim.streams import STREAM_MESSAGES, LinkSchedule, stream_param
from uav.sim.telemetry import BUILDERS, statustext

if TYPE_CHECKING:
    from uav.sim.server import EmulatorServer
    from uav.sim.traffic_intruders import Intruder

GROUND_CLEARANCE_M = 0.1  # --home ...,20 is reported as HOME_POSITION altitude 20.100 m
STEP_S = 0.05  # simulation step (vehicle seconds)
MAX_STEPS_PER_POLL = 50


@dataclass(frozen=True)
class Home:
    """Where the vehicle starts: WGS-84 degrees, metres AMSL, heading in degrees."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    heading_deg: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Home:
        """``LAT,LON,ALT,HDG`` as arducopter's ``--home`` takes it."""
        parts = [p.strip() for p in text.split(",")]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise InputError(f"--home {text!r}: expected LAT,LON,ALT,HDG numbers") from None
        if len(values) != 4 or not all(math.isfinite(x) for x in values):
            raise InputError(f"--home {text!r}: expected LAT,LON,ALT,HDG")
        lat, lon, alt, hdg = values
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(f"--home {text!r}: latitude/longitude out of range")
        return cls(lat, lon, alt, hdg % 360)


DEFAULT_HOME = Home(23.1291, 113.3240, 20.0, 0.0)  # the recorded traces' home


class EmulatedVehicle:
    """An ArduCopter SITL stand-in speaking MAVLink 2 over TCP."""

    def __init__(
        self,
        instance: int = 0,
        home: Home | str = DEFAULT_HOME,
        speedup: float = 1.0,
        *,
        defaults: Sequence[Path | str] = (),
        sysid: int | None = None,
        base_port: int = BASE_PORT,
        ports: Sequence[int | None] | None = None,
        parts: PartFactories | None = None,
        traffic_options: dict[str, Any] | None = None,
        intruders: Iterable[Intruder] = (),
    ) -> None:
        """``intruders``: other aircraft flying set tracks around this vehicle (in its ADS-B
        list, their Remote ID relayed; see :mod:`uav.sim.traffic`), e.g. from
        :func:`uav.sim.traffic_intruders.load_intruders`. They need the traffic part."""
        if not 0 <= instance <= 5976:
            raise InputError(f"instance {instance} out of range 0..5976")
        if not (math.isfinite(speedup) and speedup > 0):
            raise InputError(f"speedup must be a positive number, not {speedup}")
        self.instance = instance
        self.start_home = Home.parse(home) if isinstance(home, str) else home
        self.ports: tuple[int | None, ...] = tuple(ports or serial_ports(instance, base_port))
        self.params = ParamStore.with_defaults()
        self.unknown_params = self._apply_defaults(defaults, sysid)
        self.sysid = int(self.params.get("MAV_SYSID"))
        if not 1 <= self.sysid <= 255:
            raise InputError(f"MAV_SYSID {self.sysid} out of range 1..255")
        self.clock = VehicleClock(speedup)
        self.signing = Signing()
        self.links = [
            Link(i, self.sysid, VEHICLE_COMPID, self._signing_floor) for i in range(len(self.ports))
        ]
        self.schedules = [LinkSchedule() for _ in self.links]
        origin = GeoOrigin(
            self.start_home.lat_deg,
            self.start_home.lon_deg,
            self.start_home.alt_amsl_m + GROUND_CLEARANCE_M,
        )
        self.ap = Autopilot(self, origin, self.start_home.heading_deg)
        self.param_protocol = ParamProtocol(self)
        self._part_factories = parts if parts is not None else PartFactories.default()
        self._traffic_options = _with_intruders(traffic_options, intruders, self._part_factories)
        self.parts: Parts | None = None
        self.lock = threading.RLock()
        self._now = 0.0
        self._sim_s = 0.0
        self._boot_script = b.BootScript(self)
        self._next_heartbeat_s = b.HEARTBEATS_START_S
        self._next_timesync_s = b.TIMESYNC_PERIOD_S
        self._next_prearm_report_s = b.PREARM_REPORT_FIRST_S
        self._params_seen = -1
        self._deferred: list[Callable[[], None]] | None = None
        self._server: EmulatorServer | None = None
        self._own_server = False

    def _apply_defaults(self, files: Sequence[Path | str], sysid: int | None) -> list[str]:
        unknown: list[str] = []
        for path in files:
            unknown += self.params.apply_defaults(read_parm_file(Path(path)))
        if sysid is not None:
            self.params.apply_defaults([ParmEntry("MAV_SYSID", float(sysid), False, 0)])
        return unknown

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Listen (within milliseconds) and run in a server thread of its own."""
        from uav.sim.server import EmulatorServer

        if self._server is not None:
            return
        server = EmulatorServer()
        server.add(self)
        server.start()
        self._own_server = True

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        if self._own_server:
            server.stop()
        else:
            server.remove(self)
        self._own_server = False

    def attached(self, server: EmulatorServer | None) -> None:
        """Called by the server that runs this vehicle (None when it lets go)."""
        self._server = server

    def __enter__(self) -> EmulatedVehicle:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def booted(self) -> bool:
        return self.clock.started

    @property
    def errors(self) -> list[str]:
        """Exceptions raised inside this vehicle's server so far (tracebacks)."""
        return list(self._server.errors) if self._server is not None else []

    # ------------------------------------------------------------------ server side
    def on_connect(self, index: int) -> None:
        """A client connected to link ``index`` (its socket is attached already).

        The first connection to SERIAL0 boots the vehicle. Once booted, a new client gets two
        HEARTBEATs and a SYS_STATUS at once, although nothing streams (signing.jsonl: SERIAL1's
        seq 0-2, 3 ms after the client connected and sent its first HEARTBEAT; the conformance
        checker relies on them to see a second link whose unsigned packets are dropped)."""
        if index == 0 and not self.clock.started:
            self._boot()
            return
        self._now = max(self._now, self.clock.now_s())
        link = self.links[index]
        if self.boot_state().booted:
            for name in ("HEARTBEAT", "HEARTBEAT", "SYS_STATUS"):
                link.send(BUILDERS[name](self, link.mav))

    def on_receive(self, link: Link, msgs: list[Any]) -> None:
        self._now = max(self._now, self.clock.now_s())
        for msg in msgs:
            if not self.signing.accept(msg, link.index, link.mav):
                continue
            self._mark_active(link)
            if self._addressed_to_us(msg):
                handle_message(self, msg, link)

    def poll(self, wall_now: float) -> float:
        """Run the vehicle up to ``wall_now``; returns the wall time it next needs a poll."""
        if not self.clock.started:
            return math.inf
        now = self.clock.vehicle_s_at(wall_now)
        self._advance(now)
        self._periodic(now)
        self._refresh_streams(now)
        next_due = min(self._sim_s + STEP_S, self._next_heartbeat_s, self._next_timesync_s)
        next_due = min(next_due, self.param_protocol.poll(now), self._send_streams(now))
        next_due = min(next_due, self._boot_script.next_s())
        return self.clock.wall_at(next_due)

    def _boot(self) -> None:
        self.clock.start()
        self.links[0].active = True  # the client that booted the vehicle
        traffic_kwargs = {
            "unix_time_at_boot_s": self.clock.unix_s(0.0),
            "gps_position": self.gps_position,
        }
        self.parts = Parts(
            self._part_factories,
            self,
            traffic_kwargs=traffic_kwargs,
            traffic_options=self._traffic_options,
        )

    def _addressed_to_us(self, msg: Any) -> bool:
        target_system = getattr(msg, "target_system", 0)
        target_component = getattr(msg, "target_component", 0)
        return target_system in (0, self.sysid) and target_component in (0, VEHICLE_COMPID)

    def _mark_active(self, link: Link) -> None:
        """A packet was accepted on the link: from now on it gets STATUSTEXTs too."""
        link.active = True

    # ------------------------------------------------------------------ simulation
    def _advance(self, now: float) -> None:
        steps = math.floor((now - self._sim_s) / STEP_S)
        dt = STEP_S
        if steps > MAX_STEPS_PER_POLL:
            dt, steps = (now - self._sim_s) / MAX_STEPS_PER_POLL, MAX_STEPS_PER_POLL
        for _ in range(max(steps, 0)):
            t = self._sim_s + dt
            self._now = max(self._now, t)
            self._boot_script.run_until(t)
            self.ap.step(dt, t)
            self._tick_parts()
            self._sim_s = t
        self._now = max(self._now, now)
        self._boot_script.run_until(now)

    def _tick_parts(self) -> None:
        parts = self.parts
        if parts is None:
            return
        parts.tick()
        for name, value in parts.drain_param_saves():
            if self.params.exists(name):
                self.params.set_in_ram(name, value)
                self.param_protocol.announce(name)
        if parts.traffic is not None:
            link = self.links[parts.odid_link_index() % len(self.links)]
            for msg in parts.odid_messages(link.mav):
                link.send(msg)

    def _periodic(self, now: float) -> None:
        if now >= self._next_heartbeat_s:
            self._next_heartbeat_s = _next_period(self._next_heartbeat_s, 1.0, now)
            if self.boot_state().booted:
                self.ap.guided_flag = self.ap.guided_enabled()
            self.send_heartbeats()
        if now >= self._next_timesync_s:
            self._next_timesync_s = _next_period(self._next_timesync_s, b.TIMESYNC_PERIOD_S, now)
            self.broadcast(mavlink2.MAVLink_timesync_message(0, int(now * 1e9)))
        if now >= self._next_prearm_report_s:
            self._next_prearm_report_s = _next_period(
                self._next_prearm_report_s, b.PREARM_REPORT_PERIOD_S, now
            )
            failures = [] if self.ap.armed else self.ap.prearm_failures()
            if failures:
                self.statustext(SEV_CRITICAL, f"PreArm: {failures[0]}")

    def send_heartbeats(self) -> None:
        """To every connected link, also one whose packets are all refused (the conformance
        checker expects SERIAL1 HEARTBEATs while its unsigned packets are dropped)."""
        for link in self.links:
            if link.connected:
                link.send(BUILDERS["HEARTBEAT"](self, link.mav))

    # ------------------------------------------------------------------ streams
    def _refresh_streams(self, now: float) -> None:
        """Follow the MAVn_* parameters (streams start with the first HEARTBEAT at 1 s)."""
        if self._params_seen == self.params.version or now < b.HEARTBEATS_START_S:
            return
        self._params_seen = self.params.version
        for link, schedule in zip(self.links, self.schedules, strict=True):
            for suffix in STREAM_MESSAGES:
                rate = self.params.get_or(stream_param(link.index, suffix), 0.0)
                schedule.set_stream_rate(suffix, rate, now)

    def _send_streams(self, now: float) -> float:
        built: dict[str, Any] = {}
        next_due = math.inf
        for link, schedule in zip(self.links, self.schedules, strict=True):
            if not link.connected:
                schedule.due(now)  # nobody to send to: the schedule moves on
                continue
            for name in schedule.due(now):
                if name not in built:
                    built[name] = BUILDERS[name](self, link.mav)
                for msg in _as_list(built[name]):
                    link.send_optional(msg)
            next_due = min(next_due, schedule.next_due_s())
        return next_due

    def on_param_changed(self, name: str) -> None:
        """A parameter was set by a ground station (stream rates apply at the next poll)."""

    # ------------------------------------------------------------------ output
    def broadcast_links(self) -> list[Link]:
        """Links that get the vehicle's STATUSTEXTs and other unrequested messages:
        connected, and active (a packet received; SERIAL0 from boot) or streaming."""
        return [
            link
            for link, schedule in zip(self.links, self.schedules, strict=True)
            if link.connected and (link.active or schedule.next_due_s() < math.inf)
        ]

    @contextmanager
    def deferred_broadcasts(self) -> Iterator[None]:
        """Hold STATUSTEXTs, HEARTBEATs and broadcasts until the block ends (SITL answers a
        command with its COMMAND_ACK first)."""
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
        finally:
            queued, self._deferred = self._deferred, None
            for action in queued:
                action()

    def _output(self, action: Callable[[], None]) -> None:
        if self._deferred is not None:
            self._deferred.append(action)
        else:
            action()

    def heartbeat_now(self) -> None:
        self._output(self.send_heartbeats)

    def announce_home(self) -> None:
        for name in ("GPS_GLOBAL_ORIGIN", "HOME_POSITION"):
            msg = BUILDERS[name](self, self.links[0].mav)
            if msg is not None:
                self.broadcast(msg)

    def item_reached(self, seq: int) -> None:
        self.broadcast(mavlink2.MAVLink_mission_item_reached_message(seq))

    # ------------------------------------------------------------------ VehicleServices
    def now_s(self) -> float:
        return self._now

    def param(self, name: str) -> float:
        return self.params.get(name)

    def statustext(self, severity: int, text: str) -> None:
        self.broadcast(statustext(self.links[0].mav, severity, text))

    def broadcast(self, msg: Any) -> None:
        def send() -> None:
            for link in self.broadcast_links():
                link.send(msg)

        self._output(send)

    def home(self) -> tuple[float, float, float] | None:
        return self.ap.home_geo()

    def position(self) -> Position | None:
        if not self.boot_state().origin_set:
            return None
        return self._position()

    def gps_position(self) -> Position | None:
        """The raw GPS position once it has a fix (Remote ID starts from this)."""
        if not self.boot_state().has_gps_position:
            return None
        return self._position()

    def _position(self) -> Position:
        body = self.ap.body
        lat, lon = self.ap.origin.to_geo(body.north_m, body.east_m)
        home = self.ap.home
        relative = body.alt_m - home.alt_m if home is not None else 0.0
        return Position(lat, lon, body.alt_m, relative, body.vn_mps, body.ve_mps, -body.vu_mps)

    def is_armed(self) -> bool:
        return self.ap.armed

    def custom_mode(self) -> int:
        return self.ap.mode

    def set_mode(self, custom_mode: int) -> bool:
        return self.ap.set_mode(custom_mode)

    def mission_changed(self, mission_type: int) -> None:
        if mission_type == 0:
            self.ap.auto.mission_changed()

    # ------------------------------------------------------------------ AutopilotHost
    def boot_state(self) -> b.BootState:
        return b.BootState(self._now)

    def fence_enabled(self) -> bool:
        return self.params.get_or("FENCE_ENABLE", 0.0) != 0

    def fence_breached(self) -> bool:
        return self.parts is not None and self.parts.fence_breached()

    def fence_arm_failure(self) -> str | None:
        position_ok = self.boot_state().using_gps
        if self.parts is None:
            return None
        return self.parts.fence_arm_failure(position_ok, self.fence_enabled())

    def fence_status(self, mav: Any) -> Any:
        return self.parts.fence_status(mav) if self.parts is not None else None

    def adsb_messages(self, mav: Any) -> list[Any]:
        return self.parts.adsb_messages(mav) if self.parts is not None else []

    def mission_items(self) -> list[Any]:
        return self.parts.mission_items() if self.parts is not None else []

    def mission_current_seq(self) -> int:
        return self.parts.mission_current_seq() if self.parts is not None else 0

    def mission_set_current(self, seq: int) -> None:
        if self.parts is not None:
            self.parts.mission_set_current(seq)

    def _signing_floor(self) -> int:
        return self.clock.signing_timestamp(self._now)


def _with_intruders(
    options: dict[str, Any] | None, intruders: Iterable[Intruder], parts: PartFactories
) -> dict[str, Any]:
    """The traffic part's options with ``intruders`` added (refused without the part: an
    intruder asked for must never silently be missing)."""
    merged = dict(options or {})
    extra = tuple(intruders)
    if not extra:
        return merged
    if parts.traffic is None:
        raise InputError("intruders need the emulator's traffic part (uav/sim/traffic.py)")
    merged["intruders"] = (*merged.get("intruders", ()), *extra)
    from uav.sim.traffic_intruders import check_unique

    check_unique(merged["intruders"])
    return merged


def _next_period(previous_s: float, period_s: float, now_s: float) -> float:
    following = previous_s + period_s
    return following if following > now_s else now_s + period_s


def _as_list(built: Any) -> list[Any]:
    if built is None:
        return []
    return built if isinstance(built, list) else [built]
