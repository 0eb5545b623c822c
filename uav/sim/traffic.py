"""Other air traffic around the emulated vehicle: ADS-B and Remote ID.

:class:`Traffic` combines

* SITL's simulated ADS-B aircraft (SIM_ADSB_COUNT ≥ 0, SIM_ADSB_RADIUS, SIM_ADSB_ALT; see
  :mod:`uav.sim.traffic_adsb`) and the vehicle's ADS-B list (ADSB_TYPE ≥ 1), sent one entry
  per ADSB stream tick by :meth:`Traffic.adsb_messages`;
* intruders flying set tracks (:mod:`uav.sim.traffic_intruders`), added with
  :meth:`Traffic.add_intruder` or :meth:`Traffic.load_intruders`. Those with ``adsb`` join the
  same ADS-B list (reported once a second like the simulated aircraft, callsign and emitter
  type as given, flags 511); those with ``remote_id`` are relayed as a Remote ID receiver
  would, see below;
* the vehicle's own Remote ID (DID_ENABLE=1, DID_MAVPORT=N; :mod:`uav.sim.traffic_odid`).

How relayed intruder Remote ID appears (a choice; ArduPilot does not relay): the messages go
out with the other OPEN_DRONE_ID_* messages on the Remote ID link, so their MAVLink header is
the vehicle's (sysid, compid 1). They are told apart from the vehicle's own messages by
``id_or_mac``, which MAVLink reserves for "data received from other UAs": here the
intruder's pseudo MAC ``02:00:<ICAO, 3 bytes>:00`` followed by zeros; the vehicle's own have
all zeros. Targets are 0/0. Each intruder is heard once a second (from ``start_s``) as a
Wi-Fi Remote ID receiver hears a message pack: OPEN_DRONE_ID_BASIC_ID (id_type 1 serial
number, ``uas_id`` = the intruder's serial) and OPEN_DRONE_ID_SYSTEM (its operator location)
followed by OPEN_DRONE_ID_LOCATION, so that a receiver listening from any moment on knows
whose every LOCATION is.

Everything runs in vehicle time (``services.now_s()``) and is deterministic given ``seed``,
except the Remote ID timestamps, which follow ``unix_time_at_boot_s`` (the host clock at
construction unless given).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from uav.geo.local import LocalFrame
from uav.sim.interfaces import LinkPort, Position, VehicleServices
from uav.sim.traffic_adsb import (
    REPORT_PERIOD_S,
    SIM_START_S,
    AdsbReport,
    AdsbSimulator,
    VehicleAdsbList,
)
from uav.sim.traffic_intruders import Intruder, IntruderState, IntruderTrack, load_intruders
from uav.sim.traffic_odid import ODID_EPOCH_UNIX_S, RemoteIdTransponder, location_fields

ADSB_LIST_RADIUS_DEFAULT_M = 2000.0


class Traffic:
    """Simulated ADS-B, intruders and Remote ID; see the module docstring."""

    def __init__(
        self,
        services: VehicleServices,
        *,
        seed: int = 0,
        origin: tuple[float, float] | None = None,
        gps_position: Callable[[], Position | None] | None = None,
        unix_time_at_boot_s: float | None = None,
        intruders: Iterable[Intruder] = (),
    ) -> None:
        """``origin``: the simulator's start location (lat_deg, lon_deg), around which
        SIM_ADSB aircraft fly (default: home, once set). ``gps_position``: the raw GPS
        position once it has a fix, which starts Remote ID LOCATION (default:
        ``services.position()``)."""
        self._services = services
        self._rng = random.Random(seed)
        self._origin = origin
        self._unix_boot_s = time.time() if unix_time_at_boot_s is None else unix_time_at_boot_s
        self._sim: AdsbSimulator | None = None
        self._list = VehicleAdsbList()
        self._next_report_s: float | None = None
        self._tracks: list[IntruderTrack] = []
        self._relay_ticks: dict[int, int] = {}
        self._remote_id = RemoteIdTransponder(
            services, gps_position or services.position, self._unix_boot_s
        )
        for intruder in intruders:
            self.add_intruder(intruder)

    # ----------------------------------------------------------------- intruders

    def add_intruder(self, intruder: Intruder) -> None:
        if any(t.intruder.icao == intruder.icao for t in self._tracks):
            raise ValueError(f"an intruder with ICAO {intruder.icao:06X} already exists")
        self._tracks.append(IntruderTrack(intruder))

    def load_intruders(self, path: Path) -> list[Intruder]:
        """Add the intruders described in a TOML/JSON file; returns them."""
        loaded = load_intruders(path)
        for intruder in loaded:
            self.add_intruder(intruder)
        return loaded

    @property
    def intruders(self) -> list[Intruder]:
        return [t.intruder for t in self._tracks]

    def intruder_state(self, icao: int) -> IntruderState | None:
        """Where an intruder is now (None before it starts or once removed)."""
        for track in self._tracks:
            if track.intruder.icao == icao:
                return track.state_at(self._services.now_s())
        raise KeyError(icao)

    # ---------------------------------------------------------------- every step

    def update(self) -> None:
        """Every simulation step: ADS-B reports (1 Hz), list timeouts, Remote ID checks."""
        now = self._services.now_s()
        if self._next_report_s is None:
            self._next_report_s = min(SIM_START_S, math.ceil(now))
        if now >= self._next_report_s:
            self._next_report_s = math.floor(now / REPORT_PERIOD_S + 1) * REPORT_PERIOD_S
            self._report_all(now)
        self._list.expire(now)
        self._remote_id.update()

    def adsb_messages(self, mav: Any) -> list[Any]:
        """For one ADSB stream tick: [one ADSB_VEHICLE] or [] (none due or no ADS-B)."""
        if self._param("ADSB_TYPE", 0) < 1:
            return []
        report = self._list.next_report(self._services.now_s())
        return [] if report is None else [report.encode(mav)]

    def odid_messages(self, mav: Any) -> list[Any]:
        """OPEN_DRONE_ID_* due now, to send on the link :meth:`odid_link_index`."""
        return self._remote_id.messages(mav) + self._relay_messages(mav)

    def odid_link_index(self) -> int:
        """The link that carries Remote ID: DID_MAVPORT when set, else 0 (relays only)."""
        port = self._remote_id.port()
        return 0 if port is None else port

    def handle(self, msg: Any, link: LinkPort) -> bool:
        """OPEN_DRONE_ID_* from a ground station or transmitter; False for anything else."""
        return self._remote_id.handle(msg, link)

    @property
    def adsb_list_icaos(self) -> list[int]:
        """ICAO addresses in the vehicle's ADS-B list, in list order."""
        return self._list.icaos

    # ------------------------------------------------------------------- ADS-B

    def _report_all(self, now: float) -> None:
        reports = self._sim_reports(now) + self._intruder_reports(now)
        if self._param("ADSB_TYPE", 0) < 1:
            self._list.clear()
            return
        for report in reports:
            self._list.receive(report, now, self._in_range(report))

    def _sim_reports(self, now: float) -> list[AdsbReport]:
        count = int(self._param("SIM_ADSB_COUNT", -1))
        origin = self._origin or _lat_lon(self._services.home())
        if count < 0 or origin is None or now < SIM_START_S:
            return []
        if self._sim is None:
            self._sim = AdsbSimulator(origin, self._rng)
        radius = self._param("SIM_ADSB_RADIUS", 10000.0)
        return self._sim.report(now, count, radius, self._param("SIM_ADSB_ALT", 1000.0))

    def _intruder_reports(self, now: float) -> list[AdsbReport]:
        reports = []
        for track in self._tracks:
            state = track.state_at(now)
            if track.intruder.adsb and state is not None:
                reports.append(_intruder_report(track.intruder, state))
        return reports

    def _in_range(self, report: AdsbReport) -> bool:
        own = self._services.position()
        if own is None:
            return True
        radius = self._param("ADSB_LIST_RADIUS", ADSB_LIST_RADIUS_DEFAULT_M)
        frame = LocalFrame(own.lon_deg, own.lat_deg)
        x, y = frame.to_xy(report.lon_deg, report.lat_deg)
        if math.hypot(float(x), float(y)) > radius:
            return False
        max_alt = self._param("ADSB_LIST_ALT", 0.0)
        return max_alt <= 0 or abs(report.alt_amsl_m - own.alt_amsl_m) <= max_alt

    # -------------------------------------------------------------- RID relays

    def _relay_messages(self, mav: Any) -> list[Any]:
        now = self._services.now_s()
        out: list[Any] = []
        for track in self._tracks:
            it = track.intruder
            if not it.remote_id or now < it.start_s:
                continue
            due = math.floor(now - it.start_s)
            if self._relay_ticks.get(it.icao, -1) >= due:
                continue
            self._relay_ticks[it.icao] = due
            state = track.state_at(now)
            if state is not None:
                out += self._relay(mav, it, state)
        return out

    def _relay(self, mav: Any, it: Intruder, state: IntruderState) -> list[Any]:
        """One message pack: BASIC_ID, SYSTEM, then LOCATION."""
        mac = _pseudo_mac(it.icao)
        unix_s = self._unix_boot_s + self._services.now_s()
        height_m = state.alt_amsl_m - it.waypoints[0][2]
        position = Position(
            state.lat_deg, state.lon_deg, state.alt_amsl_m, height_m,
            state.vn_mps, state.ve_mps, state.vd_mps,
        )  # fmt: skip
        direction = round(state.course_deg * 100) % 36000 if state.ground_speed_mps else 0
        fields = location_fields(position, armed=True, direction_cdeg=direction, unix_s=unix_s)
        serial = list(it.serial.encode("ascii").ljust(20, b"\0"))
        return [
            mav.open_drone_id_basic_id_encode(0, 0, mac, 1, it.ua_type, serial),
            _relay_system(mav, it, mac, unix_s),
            mav.open_drone_id_location_encode(0, 0, mac, **fields),
        ]

    def _param(self, name: str, default: float) -> float:
        try:
            return float(self._services.param(name))
        except KeyError:
            return default


def _intruder_report(it: Intruder, state: IntruderState) -> AdsbReport:
    return AdsbReport(
        it.icao, it.callsign, it.emitter_type, state.lat_deg, state.lon_deg, state.alt_amsl_m,
        state.course_deg, state.ground_speed_mps, -state.vd_mps, it.squawk,
    )  # fmt: skip


def _relay_system(mav: Any, it: Intruder, mac: list[int], unix_s: float) -> Any:
    """OPEN_DRONE_ID_SYSTEM for a relayed intruder: its operator location, one area."""
    lat, lon, alt = it.operator_location
    timestamp = max(0, int(unix_s - ODID_EPOCH_UNIX_S))
    return mav.open_drone_id_system_encode(
        0, 0, mac, 0, 0, round(lat * 1e7), round(lon * 1e7), 1, 0, -1000.0, -1000.0, 0, 0,
        alt, timestamp,
    )  # fmt: skip


def _pseudo_mac(icao: int) -> list[int]:
    """A locally administered MAC for an intruder, padded to id_or_mac's 20 bytes."""
    return [0x02, 0x00, (icao >> 16) & 0xFF, (icao >> 8) & 0xFF, icao & 0xFF, 0x00] + [0] * 14


def _lat_lon(home: tuple[float, float, float] | None) -> tuple[float, float] | None:
    return None if home is None else (home[0], home[1])
