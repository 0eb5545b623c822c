"""Intruders: other aircraft flying set tracks, for tests of traffic awareness.

An :class:`Intruder` flies its waypoints in order at a constant speed along each leg
(3-D distance), starting at waypoint 0 at vehicle time ``start_s``. With ``loop`` it flies
back to waypoint 0 and around again forever; otherwise it holds at the last waypoint (or,
with ``remove_at_end``, disappears there). It can broadcast ADS-B (it then appears in the
vehicle's ADS-B list) and/or Remote ID (the vehicle's link relays its OPEN_DRONE_ID_*
messages); see :mod:`uav.sim.traffic`.

Description files (``.toml`` or ``.json``) hold a list ``intruders`` of tables::

    [[intruders]]
    icao = "A1B2C3"            # 24-bit ICAO address: integer, or hex string ("0xA1B2C3" ok)
    callsign = "DRONE1"        # at most 8 ASCII characters
    emitter_type = 14          # ADSB_EMITTER_TYPE; 14 = UAV (default), 1 light, 2 small, ...
    speed_mps = 12.0           # along the track; required when there are 2+ waypoints
    waypoints = [[23.1300, 113.3230, 80.0], [23.1300, 113.3250, 80.0]]  # lat, lon, alt AMSL m
    loop = false               # default false
    start_s = 0.0              # vehicle seconds since boot when it appears; default 0
    remove_at_end = false      # default false: hold at the last waypoint
    broadcasts = ["adsb", "remote_id"]   # default ["adsb"]
    uas_id = "INTRUDER-0001"   # Remote ID serial number, <= 20 ASCII; default "UAS<icao hex>"
    ua_type = 2                # MAV_ODID_UA_TYPE; default 2 (helicopter or multirotor)
    operator = [23.1290, 113.3230, 20.0]  # operator lat, lon, alt AMSL m; default waypoint 0
    squawk = 1200              # default 1200

JSON uses the same keys: ``{"intruders": [{"icao": 10597059, ...}]}``. Unknown keys and bad
values are refused with :class:`uav.errors.InputError`.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uav.errors import InputError, Location
from uav.geo.local import LocalFrame

EMITTER_UAV = 14
UA_TYPE_MULTIROTOR = 2
BROADCASTS = frozenset({"adsb", "remote_id"})
Waypoint = tuple[float, float, float]  # lat_deg, lon_deg, alt_amsl_m


@dataclass(frozen=True)
class Intruder:
    icao: int
    callsign: str
    waypoints: tuple[Waypoint, ...]
    speed_mps: float = 0.0
    emitter_type: int = EMITTER_UAV
    loop: bool = False
    start_s: float = 0.0
    remove_at_end: bool = False
    adsb: bool = True
    remote_id: bool = False
    uas_id: str = ""
    ua_type: int = UA_TYPE_MULTIROTOR
    operator: Waypoint | None = None
    squawk: int = 1200

    def __post_init__(self) -> None:
        _check_intruder(self)

    @property
    def serial(self) -> str:
        """The Remote ID serial number (``uas_id``, or ``UAS`` + the ICAO address in hex)."""
        return self.uas_id or f"UAS{self.icao:06X}"

    @property
    def operator_location(self) -> Waypoint:
        return self.operator if self.operator is not None else self.waypoints[0]


def _check_intruder(it: Intruder) -> None:
    problems: list[str] = []
    if not 0 < it.icao <= 0xFFFFFF:
        problems.append(f"icao {it.icao} is not a 24-bit address")
    if not it.callsign.isascii() or not 0 < len(it.callsign) <= 8:
        problems.append(f"callsign {it.callsign!r} must be 1-8 ASCII characters")
    if not it.waypoints:
        problems.append("no waypoints")
    problems += [f"waypoint {i}: {p}" for i, w in enumerate(it.waypoints) if (p := _bad_point(w))]
    if it.operator is not None and (p := _bad_point(it.operator)):
        problems.append(f"operator: {p}")
    if len(it.waypoints) > 1 and not (math.isfinite(it.speed_mps) and it.speed_mps > 0):
        problems.append(f"speed_mps {it.speed_mps} must be positive")
    if not 0 <= it.emitter_type <= 19:
        problems.append(f"emitter_type {it.emitter_type} is not an ADSB_EMITTER_TYPE")
    if not it.serial.isascii() or len(it.serial) > 20:
        problems.append(f"uas_id {it.uas_id!r} must be at most 20 ASCII characters")
    if not 0 <= it.squawk <= 0o7777 or not math.isfinite(it.start_s):
        problems.append("squawk must be 0-7777 (octal) and start_s finite")
    if problems:
        raise InputError(f"intruder {it.callsign!r}: " + "; ".join(problems))


def _bad_point(point: Sequence[float]) -> str | None:
    if len(point) != 3 or not all(isinstance(v, int | float) and math.isfinite(v) for v in point):
        return f"{list(point)!r} is not [lat_deg, lon_deg, alt_amsl_m]"
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        return f"{list(point)!r} is outside latitude/longitude range"
    return None


@dataclass(frozen=True)
class IntruderState:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    vn_mps: float
    ve_mps: float
    vd_mps: float

    @property
    def ground_speed_mps(self) -> float:
        return math.hypot(self.vn_mps, self.ve_mps)

    @property
    def course_deg(self) -> float:
        return math.degrees(math.atan2(self.ve_mps, self.vn_mps)) % 360.0


class IntruderTrack:
    """Where an intruder is at any vehicle time (a pure function of time)."""

    def __init__(self, intruder: Intruder) -> None:
        self.intruder = intruder
        lat0, lon0, _ = intruder.waypoints[0]
        self._frame = LocalFrame(lon0, lat0)
        lats = [w[0] for w in intruder.waypoints]
        lons = [w[1] for w in intruder.waypoints]
        xs, ys = self._frame.to_xy(lons, lats)
        points = [
            (float(x), float(y), w[2]) for x, y, w in zip(xs, ys, intruder.waypoints, strict=True)
        ]
        if intruder.loop and len(points) > 1:
            points.append(points[0])
        self._points = points
        self._starts = [0.0]
        for a, b in itertools.pairwise(points):
            self._starts.append(self._starts[-1] + math.dist(a, b))
        self.length_m = self._starts[-1]

    def state_at(self, now_s: float) -> IntruderState | None:
        """Position and velocity at ``now_s``; None before ``start_s`` or once removed."""
        it = self.intruder
        if now_s < it.start_s:
            return None
        travelled = (now_s - it.start_s) * it.speed_mps
        if self.length_m <= 0.0:
            return self._hold(len(self._points) - 1)
        if it.loop:
            travelled %= self.length_m
        elif travelled >= self.length_m:
            return None if it.remove_at_end else self._hold(len(self._points) - 1)
        leg = min(bisect.bisect_right(self._starts, travelled) - 1, len(self._points) - 2)
        return self._on_leg(leg, travelled - self._starts[leg])

    def _hold(self, index: int) -> IntruderState:
        x, y, alt = self._points[index]
        return self._state(x, y, alt, 0.0, 0.0, 0.0)

    def _on_leg(self, leg: int, along_m: float) -> IntruderState:
        (x0, y0, z0), (x1, y1, z1) = self._points[leg], self._points[leg + 1]
        length = self._starts[leg + 1] - self._starts[leg]
        f = along_m / length if length > 0 else 0.0
        speed = self.intruder.speed_mps / length if length > 0 else 0.0
        return self._state(
            x0 + f * (x1 - x0), y0 + f * (y1 - y0), z0 + f * (z1 - z0),
            (y1 - y0) * speed, (x1 - x0) * speed, -(z1 - z0) * speed,
        )  # fmt: skip

    def _state(
        self, x: float, y: float, alt: float, vn: float, ve: float, vd: float
    ) -> IntruderState:
        lon, lat = self._frame.to_lonlat(x, y)
        return IntruderState(float(lat), float(lon), alt, vn, ve, vd)


# ---------------------------------------------------------------------- loading

_KEYS = frozenset(
    {"icao", "callsign", "emitter_type", "speed_mps", "waypoints", "loop", "start_s"}
    | {"remove_at_end", "broadcasts", "uas_id", "ua_type", "operator", "squawk"}
)


def load_intruders(path: Path) -> list[Intruder]:
    """Intruders described in a ``.toml`` or ``.json`` file (schema in the module doc)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read intruder file: {exc}", Location(file=path)) from exc
    try:
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"not valid {path.suffix[1:] or 'JSON'}: {exc}", Location(file=path)
        ) from exc
    return intruders_from_data(data, path)


def intruders_from_data(data: Any, source: Path | str = "<data>") -> list[Intruder]:
    """Intruders from parsed TOML/JSON data ``{"intruders": [...]}``."""
    if not isinstance(data, Mapping) or set(data) != {"intruders"}:
        raise InputError("expected exactly one key, 'intruders'", Location(file=source))
    entries = data["intruders"]
    if not isinstance(entries, list):
        raise InputError("'intruders' must be a list", Location(file=source))
    intruders = []
    for index, entry in enumerate(entries):
        where = Location(file=source, feature_index=index)
        try:
            intruders.append(_intruder_from(entry))
        except InputError as exc:
            raise InputError(exc.message, where) from exc
        except (TypeError, ValueError) as exc:
            raise InputError(f"bad value: {exc}", where) from exc
    check_unique(intruders, source)
    return intruders


def check_unique(intruders: Sequence[Intruder], source: Path | str = "<data>") -> None:
    """Refuse two intruders with one ICAO address (the ADS-B list and the Remote ID relay
    tell intruders apart by it)."""
    seen: set[int] = set()
    for index, it in enumerate(intruders):
        if it.icao in seen:
            where = Location(file=source, feature_index=index)
            raise InputError(f"intruder {it.callsign!r}: ICAO {it.icao:06X} is used twice", where)
        seen.add(it.icao)


def _intruder_from(entry: Any) -> Intruder:
    if not isinstance(entry, Mapping):
        raise InputError("each intruder must be a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}")
    for key in ("icao", "callsign", "waypoints"):
        if key not in entry:
            raise InputError(f"missing {key!r}")
    broadcasts = entry.get("broadcasts", ["adsb"])
    if not isinstance(broadcasts, list) or not set(broadcasts) <= BROADCASTS:
        raise InputError(f"broadcasts must be a list drawn from {sorted(BROADCASTS)}")
    operator = entry.get("operator")
    return Intruder(
        icao=_icao(entry["icao"]),
        callsign=_text(entry["callsign"], "callsign"),
        waypoints=tuple(_point(w) for w in entry["waypoints"]),
        speed_mps=float(entry.get("speed_mps", 0.0)),
        emitter_type=_int(entry.get("emitter_type", EMITTER_UAV), "emitter_type"),
        loop=_flag(entry.get("loop", False), "loop"),
        start_s=float(entry.get("start_s", 0.0)),
        remove_at_end=_flag(entry.get("remove_at_end", False), "remove_at_end"),
        adsb="adsb" in broadcasts,
        remote_id="remote_id" in broadcasts,
        uas_id=_text(entry.get("uas_id", ""), "uas_id"),
        ua_type=_int(entry.get("ua_type", UA_TYPE_MULTIROTOR), "ua_type"),
        operator=None if operator is None else _point(operator),
        squawk=_int(entry.get("squawk", 1200), "squawk"),
    )


def _icao(value: Any) -> int:
    if isinstance(value, str):
        return int(value.removeprefix("0x").removeprefix("0X"), 16)
    return _int(value, "icao")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, not {value!r}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, not {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {value!r}")
    return value


def _point(value: Any) -> Waypoint:
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise InputError(f"{value!r} is not [lat_deg, lon_deg, alt_amsl_m]")
    lat, lon, alt = (float(v) for v in value)
    return (lat, lon, alt)
