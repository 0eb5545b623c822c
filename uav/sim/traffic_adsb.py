"""Simulated ADS-B: SITL's SIM_ADSB_* aircraft and the vehicle's ADS-B list.

Observed (README scenario 5, adsb.jsonl; SIM_ADSB_COUNT 5, SIM_ADSB_RADIUS 1500,
SIM_ADSB_ALT 300, ADSB_TYPE 1, MAV1_ADSB 5):

* The first ADSB_VEHICLE comes 10 s after boot. Aircraft are scattered around the simulator's
  origin, fly straight (or, emitter type 19 POINT_OBSTACLE, stand still at SIM_ADSB_ALT) and
  are re-spawned with a new random ICAO when they leave SIM_ADSB_RADIUS. Their positions
  advance in 1 s steps (the simulator reports once a second).
* The vehicle keeps a list of the aircraft within ADSB_LIST_RADIUS (2000 m for Copter). Each
  ADSB stream tick sends one list entry; once the list is done it restarts at most once a
  second: 5 aircraft at 5 Hz give 5 messages/s, and at 20 Hz still about 5/s.
* A re-spawned aircraft's old entry goes on being sent unchanged until it times out, 2.4 to
  4.6 s after its last report (3.5 s here; SITL sent each stale entry 3 times); a removed
  entry's slot is taken by the last entry.
  New aircraft are appended.
* Fields: callsign ``SIM<icao>``, altitude_type 0, altitude mm, heading cdeg, hor_velocity
  and ver_velocity (up positive) cm/s, squawk 1200, tslc 1, flags 511.

*Choices:* the random model (scatter N(0, radius) per axis within the radius, speed uniform
5-100 m/s, climb N(0, 3) m/s, emitter types in :data:`SIM_EMITTER_TYPES`, ICAO 1-9999) is
not SITL's; only its visible behaviour is copied. ADSB_LIST_ALT > 0 also filters by altitude
difference; the list holds at most 25 entries.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from uav.geo.local import LocalFrame

SIM_START_S = 10.0
REPORT_PERIOD_S = 1.0
LIST_TIMEOUT_S = 3.5  # inferred: SITL dropped entries 2.4-4.6 s after their last report
LIST_RESTART_S = 1.0
# A live emulator sends each stream tick when the server gets round to it, a few ms (times
# the speed-up, in vehicle time) after the tick was due; without slack the restart tick at
# 1.0 s often came 1 ms "early" against the late tick that started the list, and the list
# waited a whole tick more: 1.2 s per aircraft and 4.5 messages/s, where the recording shows
# 1.0 s (median 1.003) and 4.8-5.1/s. At 20 Hz the slack lets the list restart one tick
# early, at 0.95 s, as the recording's 5.2 messages/s suggest.
LIST_RESTART_SLACK_S = 0.05
LIST_MAX = 25
ADSB_FLAGS_SIM = 511
SQUAWK_VFR = 1200
EMITTER_POINT_OBSTACLE = 19
SIM_EMITTER_TYPES = (0, 1, 2, 3, 4, 7, 9, 10, 11, 12, 14, EMITTER_POINT_OBSTACLE)
_EPS_S = 1e-6


@dataclass(frozen=True)
class AdsbReport:
    """One aircraft's ADS-B state as the vehicle's receiver gets it."""

    icao: int
    callsign: str
    emitter_type: int
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    heading_deg: float
    ground_speed_mps: float
    climb_mps: float
    squawk: int = SQUAWK_VFR

    def encode(self, mav: Any) -> Any:
        return mav.adsb_vehicle_encode(
            self.icao, round(self.lat_deg * 1e7), round(self.lon_deg * 1e7), 0,
            round(self.alt_amsl_m * 1000), round(self.heading_deg * 100) % 36000,
            min(round(self.ground_speed_mps * 100), 0xFFFF), _clamp16(round(self.climb_mps * 100)),
            self.callsign.encode("ascii"), self.emitter_type, 1, ADSB_FLAGS_SIM, self.squawk,
        )  # fmt: skip


def _clamp16(value: int) -> int:
    return max(-32768, min(32767, value))


@dataclass
class _SimAircraft:
    icao: int
    emitter_type: int
    spawn_s: float
    x_m: float
    y_m: float
    alt_m: float
    vx_mps: float  # east
    vy_mps: float  # north
    vz_mps: float  # up

    def at(self, now_s: float) -> tuple[float, float, float]:
        dt = now_s - self.spawn_s
        return (
            self.x_m + self.vx_mps * dt,
            self.y_m + self.vy_mps * dt,
            self.alt_m + self.vz_mps * dt,
        )


class AdsbSimulator:
    """SITL's simulated aircraft around ``origin`` (lat_deg, lon_deg)."""

    def __init__(self, origin: tuple[float, float], rng: random.Random) -> None:
        self._frame = LocalFrame(origin[1], origin[0])
        self._rng = rng
        self._aircraft: list[_SimAircraft] = []

    @property
    def icaos(self) -> list[int]:
        return [a.icao for a in self._aircraft]

    def report(self, now_s: float, count: int, radius_m: float, alt_m: float) -> list[AdsbReport]:
        """Advance to ``now_s`` (a report tick): re-spawn leavers, then report everyone."""
        del self._aircraft[max(count, 0) :]
        spawn_s = 0.0 if now_s <= SIM_START_S else now_s
        while len(self._aircraft) < count:
            self._aircraft.append(self._spawn(spawn_s, radius_m, alt_m))
        for i, aircraft in enumerate(self._aircraft):
            x, y, _ = aircraft.at(now_s)
            if math.hypot(x, y) > radius_m:
                self._aircraft[i] = self._spawn(now_s, radius_m, alt_m)
        return [self._report(a, now_s) for a in self._aircraft]

    def _spawn(self, now_s: float, radius_m: float, alt_m: float) -> _SimAircraft:
        rng = self._rng
        x, y = rng.gauss(0.0, radius_m), rng.gauss(0.0, radius_m)
        while math.hypot(x, y) > radius_m:
            x, y = rng.gauss(0.0, radius_m), rng.gauss(0.0, radius_m)
        emitter = rng.choice(SIM_EMITTER_TYPES)
        icao = rng.randint(1, 9999)
        if emitter == EMITTER_POINT_OBSTACLE:
            return _SimAircraft(icao, emitter, now_s, x, y, alt_m, 0.0, 0.0, 0.0)
        speed, heading = rng.uniform(5.0, 100.0), rng.uniform(0.0, 2 * math.pi)
        climb = rng.gauss(0.0, 3.0)
        vx, vy = speed * math.sin(heading), speed * math.cos(heading)
        return _SimAircraft(icao, emitter, now_s, x, y, alt_m, vx, vy, climb)

    def _report(self, aircraft: _SimAircraft, now_s: float) -> AdsbReport:
        x, y, alt = aircraft.at(now_s)
        lon, lat = self._frame.to_lonlat(x, y)
        speed = math.hypot(aircraft.vx_mps, aircraft.vy_mps)
        heading = math.degrees(math.atan2(aircraft.vx_mps, aircraft.vy_mps)) % 360 if speed else 0.0
        return AdsbReport(
            aircraft.icao, f"SIM{aircraft.icao}", aircraft.emitter_type, float(lat), float(lon),
            alt, heading, speed, aircraft.vz_mps,
        )  # fmt: skip


@dataclass
class _Entry:
    report: AdsbReport
    updated_s: float


class VehicleAdsbList:
    """The vehicle's list of nearby aircraft and its one-entry-per-tick stream."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._next_index = 0
        self._list_start_s: float | None = None

    @property
    def icaos(self) -> list[int]:
        return [e.report.icao for e in self._entries]

    def receive(self, report: AdsbReport, now_s: float, in_range: bool) -> None:
        index = self._index_of(report.icao)
        if not in_range:
            if index is not None:
                self._remove(index)
            return
        if index is not None:
            self._entries[index] = _Entry(report, now_s)
        elif len(self._entries) < LIST_MAX:
            self._entries.append(_Entry(report, now_s))

    def expire(self, now_s: float) -> None:
        index = 0
        while index < len(self._entries):
            if now_s - self._entries[index].updated_s > LIST_TIMEOUT_S + _EPS_S:
                self._remove(index)
            else:
                index += 1

    def next_report(self, now_s: float) -> AdsbReport | None:
        """The entry for this stream tick, or None (empty list, or restart not yet due)."""
        if self._next_index >= len(self._entries):
            started = self._list_start_s
            if not self._entries or (
                started is not None and now_s - started < LIST_RESTART_S - LIST_RESTART_SLACK_S
            ):
                return None
            self._next_index, self._list_start_s = 0, now_s
        entry = self._entries[self._next_index]
        self._next_index += 1
        return entry.report

    def clear(self) -> None:
        self._entries.clear()
        self._next_index = 0

    def _index_of(self, icao: int) -> int | None:
        for index, entry in enumerate(self._entries):
            if entry.report.icao == icao:
                return index
        return None

    def _remove(self, index: int) -> None:
        last = self._entries.pop()
        if index < len(self._entries):
            self._entries[index] = last
