"""`uav monitor`'s library against emulated (or SITL) drones flying in GUIDED: zero breaches
at several headings and speeds, a time window that opens over a drone, a climb through a
zone's floor against the same leg flown under it.

The monitor watches each drone on SERIAL0 (its registered link). The test flies the drone
and judges it on SERIAL1, an independent link with positions at 20 Hz (vehicle time): a
breach is decided from that telemetry, never from the monitor's own view. Several drones
fly at once, on their own instances, to keep the wall time down."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fleet_support import HOME_LAT, HOME_LON
from tests.sim_plugin import SimVehicle, VehicleFactory
from uav.enforce import Monitor, MonitorOptions
from uav.enforce.model import EnforcementEvent, EventKind, Result
from uav.link import DroneLink, LinkConfig, arm, set_mode, set_params, takeoff, wait_until
from uav.link.commands import command_long, goto
from uav.link.state import VehicleState
from uav.store import Store
from uav.store.drones import Drone
from uav.timeutil import from_epoch
from uav.zones.model import Circle, Restriction, Schedule, VerticalBand, Zone

SPEEDUP = 10.0
OBSERVE_HZ = 20.0
EARTH_M_PER_DEG = 111_195.0
SAFE_MARGIN_M = 3.0  # the closest a stopped drone may come to a zone's edge
POSITION_TARGET_TYPE_MASK = 3576  # position only
FRAME_GLOBAL_RELATIVE_ALT_INT = 6


def point(bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """(lat, lon) ``distance_m`` from the emulated home on ``bearing_deg``."""
    north = distance_m * math.cos(math.radians(bearing_deg))
    east = distance_m * math.sin(math.radians(bearing_deg))
    lat = HOME_LAT + north / EARTH_M_PER_DEG
    lon = HOME_LON + east / (EARTH_M_PER_DEG * math.cos(math.radians(HOME_LAT)))
    return lat, lon


def ground_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = EARTH_M_PER_DEG
    return math.hypot((lat2 - lat1) * k, (lon2 - lon1) * k * math.cos(math.radians(lat1)))


@dataclass
class Sample:
    lat_deg: float
    lon_deg: float
    alt_m: float
    mode: str | None
    vehicle_unix_s: float | None


@dataclass
class Observer:
    """The test's own link (SERIAL1): flies the drone and records where it really was."""

    link: DroneLink
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, link: Any, msg: Any) -> None:
        if msg.get_type() != "GLOBAL_POSITION_INT" or msg.lat == 0:
            return
        s = link.state
        sample = Sample(
            msg.lat / 1e7, msg.lon / 1e7, msg.relative_alt / 1000, s.mode_name, s.vehicle_unix_now_s
        )
        with self.lock:
            self.samples.append(sample)

    def since(self, mark: int) -> list[Sample]:
        with self.lock:
            return self.samples[mark:]

    def mark(self) -> int:
        with self.lock:
            return len(self.samples)

    def fly_towards(self, lat: float, lon: float, alt_m: float) -> None:
        link = self.link
        link.send(
            link.mav.set_position_target_global_int_encode(
                0,
                link.target_system,
                link.target_component,
                FRAME_GLOBAL_RELATIVE_ALT_INT,
                POSITION_TARGET_TYPE_MASK,
                round(lat * 1e7),
                round(lon * 1e7),
                alt_m,
                *([0.0] * 8),
            )
        )

    def wait(self, what: str, cond: Callable[[VehicleState], bool], timeout_s: float) -> None:
        wait_until(self.link, lambda s: s if cond(s) else None, timeout_s=timeout_s, what=what)


def open_observer(v: SimVehicle) -> Observer:
    link = DroneLink(v.link_url(1), LinkConfig(target_system=v.sysid), name=f"observer {v.sysid}")
    obs = Observer(link)
    link.add_message_listener(obs.on_message)
    link.open()
    command_long(link, 511, 33, round(1e6 / OBSERVE_HZ))  # SET_MESSAGE_INTERVAL
    return obs


@pytest.fixture
def observers() -> Iterator[Callable[[SimVehicle], Observer]]:
    opened: list[Observer] = []

    def make(v: SimVehicle) -> Observer:
        obs = open_observer(v)
        opened.append(obs)
        return obs

    yield make
    for obs in opened:
        obs.link.close()


@dataclass
class Running:
    monitor: Monitor
    events: list[EnforcementEvent]
    stop: threading.Event
    thread: threading.Thread
    error: list[BaseException]

    def of(self, drone: str) -> list[EnforcementEvent]:
        return [e for e in list(self.events) if e.drone == drone]


@pytest.fixture
def run_monitor() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(store: Store, options: MonitorOptions | None = None) -> Running:
        events: list[EnforcementEvent] = []
        monitor = Monitor(store, options=options or MonitorOptions(), on_event=events.append)
        stop = threading.Event()
        error: list[BaseException] = []

        def body() -> None:
            try:
                monitor.run(stop)
            except BaseException as exc:  # pragma: no cover - shown by the assertion below
                error.append(exc)

        thread = threading.Thread(target=body, name="monitor under test")
        running = Running(monitor, events, stop, thread, error)
        started.append(running)
        thread.start()
        return running

    yield start
    for r in started:
        r.stop.set()
        r.thread.join(30.0)
        assert not r.thread.is_alive(), "the monitor did not stop"
        assert not r.error, r.error


def register(store: Store, vs: list[SimVehicle]) -> list[str]:
    names = []
    for v in vs:
        name = f"TH-{v.sysid:02d}"
        store.add_drone(Drone(name=name, connect_url=v.url, sysid=v.sysid))
        names.append(name)
    return names


def circle_zone(name: str, lat: float, lon: float, radius_m: float, **kw: Any) -> Zone:
    return Zone(
        name=name, restriction=Restriction.PROHIBITED, geometry=Circle(lon, lat, radius_m), **kw
    )


def airborne(obs: Observer, alt_m: float) -> None:
    link = obs.link
    set_mode(link, "GUIDED")
    arm(link)
    takeoff(link, alt_m)


def closest_to_circle(samples: list[Sample], lat: float, lon: float, radius_m: float) -> float:
    return min(ground_m(s.lat_deg, s.lon_deg, lat, lon) - radius_m for s in samples)


# ---------------------------------------------------------------------- headings and speeds

ZONE_DISTANCE_M = 150.0
ZONE_RADIUS_M = 30.0
# (bearing, speed m/s, altitude m): 4 drones fly two legs each; 12 m is below RTL_ALT
# (15 m), where RTL first climbs from its stopping point: the longest stop
LEGS = [
    [(0.0, 10.0, 30.0), (200.0, 5.0, 30.0)],
    [(90.0, 10.0, 12.0), (315.0, 5.0, 30.0)],
    [(135.0, 5.0, 30.0), (30.0, 10.0, 30.0)],
    [(250.0, 10.0, 30.0), (160.0, 10.0, 12.0)],
]


@dataclass
class LegResult:
    drone: str
    zone: str
    bearing_deg: float
    speed_mps: float
    clearance_m: float
    modes: set[str | None]


def fly_legs(obs: Observer, drone: str, legs: list[tuple[float, float, float]]) -> list[LegResult]:
    out = []
    link = obs.link
    for k, (bearing, speed, alt) in enumerate(legs):
        set_params(link, {"WPNAV_SPEED": speed * 100})
        if k == 0:
            airborne(obs, alt)
        else:  # back over home first, in GUIDED, at the leg's altitude
            set_mode(link, "GUIDED")
            goto(link, HOME_LAT, HOME_LON, alt, tolerance_m=3.0)
        mark = obs.mark()
        target = point(bearing, 600.0)
        obs.fly_towards(*target, alt)
        obs.wait(
            "the monitor to switch the drone out of GUIDED",
            lambda s: s.mode_name != "GUIDED",
            60.0,
        )
        # the closest approach: when it no longer moves towards the zone
        obs.wait("the drone to turn back", lambda s, b=bearing: _receding(s, b), 30.0)
        zlat, zlon = point(bearing, ZONE_DISTANCE_M)
        samples = obs.since(mark)
        out.append(
            LegResult(
                drone,
                zone_name(bearing),
                bearing,
                speed,
                closest_to_circle(samples, zlat, zlon, ZONE_RADIUS_M),
                {s.mode for s in samples},
            )
        )
    return out


def _receding(s: VehicleState, bearing: float) -> bool:
    """Moving away from the zone's bearing (or standing still)."""
    vn, ve = s.vn_mps or 0.0, s.ve_mps or 0.0
    along = vn * math.cos(math.radians(bearing)) + ve * math.sin(math.radians(bearing))
    return along < 0.2


def zone_name(bearing: float) -> str:
    return f"NFZ {bearing:g}"


@pytest.mark.sitl
def test_drones_flying_at_no_fly_zones_are_stopped_outside_them(
    vehicles: VehicleFactory,
    observers: Callable[[SimVehicle], Observer],
    run_monitor: Callable[..., Running],
    tmp_path: Path,
) -> None:
    vs = vehicles(len(LEGS), speedup=SPEEDUP, ready=True)
    store = Store.open(tmp_path / "uav.db")
    names = register(store, vs)
    zones = [
        circle_zone(zone_name(b), *point(b, ZONE_DISTANCE_M), ZONE_RADIUS_M)
        for legs in LEGS
        for b, _, _ in legs
    ]
    store.add_zones(zones)
    running = run_monitor(store)  # the defaults: RTL, 8 s look-ahead, 20 m buffer
    obs = [observers(v) for v in vs]
    with ThreadPoolExecutor(len(vs)) as pool:
        results = [r for rs in pool.map(fly_legs, obs, names, LEGS) for r in rs]
    assert len(results) == 8
    assert {r.speed_mps for r in results} == {5.0, 10.0}
    for r in results:
        # zero breaches: every drone stopped outside, judged on the independent link
        assert r.clearance_m >= SAFE_MARGIN_M, r
        assert "RTL" in r.modes, r
    for name in names:
        acted = [e for e in running.of(name) if e.kind is EventKind.ACTION]
        zones_acted = [e.zone_name for e in acted]
        assert zones_acted == [zone_name(b) for b, _, _ in LEGS[names.index(name)]], acted
        for e in acted:
            assert (e.action, e.result, e.rule) == ("RTL", Result.ACCEPTED, "enters-zone")
            assert e.mode_before == "GUIDED"
            assert e.time_to_breach_s is not None and 0.0 < e.time_to_breach_s <= 8.0
            assert e.predicted is not None and e.actual is not None
            assert e.latency_sent_ms is not None and e.latency_confirmed_ms is not None
            assert 0.0 < e.latency_sent_ms <= e.latency_confirmed_ms
            assert e.clock == "vehicle" and e.vehicle_unix_s is not None
    assert not any(e.kind is EventKind.LOST for e in running.events)
    stored = store.events()
    # every event the monitor reported is stored once; the store lists them in time order
    # (an action is written when its confirmation arrives, so ids need not follow times)
    assert sorted(e.id for e in stored) == sorted(e.id for e in running.events if e.id is not None)
    times = [e.time.timestamp() for e in stored]
    assert times == sorted(times)


# ---------------------------------------------------------------------- a window and a floor

OPENS_AFTER_S = 70.0  # vehicle seconds from the start; the drone hovers inside by about 30


@pytest.mark.sitl
def test_a_window_opening_over_a_drone_and_a_climb_through_a_floor(
    vehicles: VehicleFactory,
    observers: Callable[[SimVehicle], Observer],
    run_monitor: Callable[..., Running],
    tmp_path: Path,
) -> None:
    hover_v, climb_v, under_v = vehicles(3, speedup=SPEEDUP, ready=True)
    store = Store.open(tmp_path / "uav.db")
    hover, climb, under = register(store, [hover_v, climb_v, under_v])
    o_hover, o_climb, o_under = observers(hover_v), observers(climb_v), observers(under_v)

    # the window: a zone over a point 60 m west, opening 40 vehicle-seconds from now
    o_hover.wait("the vehicle's UTC", lambda s: s.vehicle_unix_now_s is not None, 10.0)
    opens_s = (o_hover.link.state.vehicle_unix_now_s or 0.0) + OPENS_AFTER_S
    wlat, wlon = point(270.0, 60.0)
    window = circle_zone(
        "Window",
        wlat,
        wlon,
        40.0,
        schedule=Schedule(start=from_epoch(opens_s), end=from_epoch(opens_s) + timedelta(hours=1)),
    )
    # the floor: from 40 m up, over everything 30..330 m north
    flat, flon = point(0.0, 180.0)
    floor = circle_zone("Floor", flat, flon, 150.0, band=VerticalBand(floor_m=40.0))
    store.add_zones([window, floor])
    options = MonitorOptions()
    running = run_monitor(store, options)

    def hover_inside() -> float:
        airborne(o_hover, 20.0)
        set_params(o_hover.link, {"WPNAV_SPEED": 500})
        goto(o_hover.link, wlat, wlon, 20.0, tolerance_m=2.0)
        o_hover.wait(
            "the monitor's action", lambda s: s.mode_name != "GUIDED", OPENS_AFTER_S + 60.0
        )
        return o_hover.link.state.vehicle_unix_now_s or 0.0

    def floor_leg(obs: Observer, top_m: float) -> None:
        """Over the floor zone's footprint at 30 m (under its floor), then north, climbing
        to ``top_m`` on the way."""
        airborne(obs, 30.0)
        set_params(obs.link, {"WPNAV_SPEED": 500})
        goto(obs.link, *point(0.0, 60.0), 30.0, tolerance_m=2.0)
        end = point(0.0, 300.0)
        obs.fly_towards(*end, top_m)
        obs.wait(
            "the end of the leg or an action",
            lambda s: (
                s.mode_name != "GUIDED" or ground_m(s.lat_deg or 0.0, s.lon_deg or 0.0, *end) < 5.0
            ),
            120.0,
        )

    with ThreadPoolExecutor(3) as pool:
        switched = pool.submit(hover_inside)
        climbed = pool.submit(floor_leg, o_climb, 60.0)
        stayed = pool.submit(floor_leg, o_under, 30.0)
        switched_at_s = switched.result()
        climbed.result()
        stayed.result()

    # the window: no action while it was more than look-ahead + margin away, then at once
    (event,) = [e for e in running.of(hover) if e.kind is EventKind.ACTION]
    assert (event.zone_name, event.action, event.result) == ("Window", "RTL", Result.ACCEPTED)
    assert event.vehicle_unix_s is not None
    acts_from_s = opens_s - options.time_margin_s - options.lookahead_s
    assert acts_from_s - 0.5 <= event.vehicle_unix_s <= acts_from_s + 1.5
    assert switched_at_s <= opens_s
    inside = [
        s
        for s in o_hover.samples
        if ground_m(s.lat_deg, s.lon_deg, wlat, wlon) < 40.0 and s.mode == "GUIDED"
    ]
    assert inside and (inside[0].vehicle_unix_s or 0.0) < acts_from_s - 10.0  # long inside, unacted

    # the floor: the climbing drone is stopped below it; the level one is left alone
    (stop,) = [e for e in running.of(climb) if e.kind is EventKind.ACTION]
    assert (stop.zone_name, stop.rule, stop.result) == ("Floor", "enters-zone", Result.ACCEPTED)
    over = [s for s in o_climb.samples if ground_m(s.lat_deg, s.lon_deg, flat, flon) <= 150.0]
    assert over and max(s.alt_m for s in over) < 40.0 - 1.0
    assert running.of(under) == []
    under_over = [s for s in o_under.samples if ground_m(s.lat_deg, s.lon_deg, flat, flon) <= 150.0]
    assert len(under_over) > 20 and {s.mode for s in under_over} == {"GUIDED"}


# ---------------------------------------------------------------------- escalation to BRAKE


def wait_wall(what: str, cond: Callable[[], bool], timeout_s: float) -> None:
    """Poll a condition of the monitor (not of the vehicle) on the wall clock, bounded."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        pause.wait(0.05)


@pytest.mark.sitl
def test_a_drone_whose_rtl_runs_through_a_new_zone_is_braked_once(
    vehicles: VehicleFactory,
    observers: Callable[[SimVehicle], Observer],
    run_monitor: Callable[..., Running],
    tmp_path: Path,
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    store = Store.open(tmp_path / "uav.db")
    (name,) = register(store, [v])
    running = run_monitor(store)  # no zones yet
    obs = observers(v)
    airborne(obs, 30.0)
    goto(obs.link, *point(270.0, 250.0), 30.0, tolerance_m=2.0)
    # a zone declared between the drone and home: the monitor loads it within a second
    zlat, zlon = point(270.0, 120.0)
    store.add_zones([circle_zone("Between", zlat, zlon, 20.0)])
    wait_wall("the monitor to load the new zone", lambda: running.monitor.zone_count == 1, 10.0)
    mark = obs.mark()
    set_mode(obs.link, "RTL")  # home is on the far side of the zone, at 10 m/s
    obs.wait("the monitor's BRAKE", lambda s: s.mode_name == "BRAKE", 60.0)
    obs.wait("the drone to stop", lambda s: (s.groundspeed_mps or 0.0) < 0.1, 30.0)
    assert closest_to_circle(obs.since(mark), zlat, zlon, 20.0) >= SAFE_MARGIN_M
    kinds = [(e.kind, e.action, e.result, e.mode_before) for e in running.of(name)]
    assert kinds == [
        (EventKind.ACTION, "RTL", Result.ALREADY, "RTL"),  # already in the action's mode
        (EventKind.ESCALATE, "BRAKE", Result.ACCEPTED, "RTL"),
    ]
    escalated = running.of(name)[1]
    assert (
        escalated.zone_name == "Between" and "in RTL and still going to breach" in escalated.reason
    )
