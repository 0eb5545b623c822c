"""The drone side of the fence: push (check, upload, verify, set parameters), show, clear.

Push, in order, on one link:

1. the drone's home (HOME_POSITION; none: refused), its mission (downloaded and flown on
   paper with :func:`uav.plans.path.build_path`), its rally points and its position;
2. the fence radius: ``--radius`` or, by default, the farthest mission point or rally point
   from home plus :data:`RADIUS_MARGIN_M`, rounded up to 10 m and at least
   :data:`MIN_DEFAULT_RADIUS_M`; the flight window: now until now + ``--for`` or, by default,
   the mission's planned duration plus :data:`WINDOW_MARGIN_S` (no mission: one hour);
3. the zones near home (and every operating area) and the drone's grants from the store,
   compiled (:func:`uav.fence.compile.compile_fence`) and checked
   (:func:`uav.fence.refuse.refusals`): any reason refuses the push (:class:`FenceRefused`,
   exit code 1) and nothing is sent;
4. unless ``--dry-run``: the items are uploaded with mission type FENCE (the vehicle checks
   and stores a fence atomically, at the end of the transfer: a refused upload keeps the old
   fence), downloaded back and compared item by item; then FENCE_* are set (FENCE_ENABLE
   last) and read back. Any difference raises :class:`FenceVerifyFailed` (exit code 2);
   what the drone holds is left as it is and the message says so.

Link failures are mapped as the fleet commands map them (:func:`uav.fleet.errors.about`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uav.errors import InputError, PlanError
from uav.fence.budget import STORAGE_BYTES
from uav.fence.compile import FenceOptions, FenceSpec, compile_fence
from uav.fence.flat import FlatFrame
from uav.fence.items import FenceShapes, shapes_of
from uav.fence.refuse import Place, refusals
from uav.fence.select import MAX_RADIUS_M, Situation
from uav.fleet.errors import DroneError, DroneRefused, about
from uav.fleet.links import connect, target
from uav.link import DroneLink, Home, MissionMismatch, WaitTimeout, wait_until
from uav.link.mission_items import MissionItemInt, mission_items_to_plan_json
from uav.link.missions import FENCE, MISSION, RALLY, Progress, clear, download, upload, verify
from uav.link.params import float32, get_params, set_params
from uav.timeutil import now_utc
from uav.zones.model import Restriction, Zone

if TYPE_CHECKING:
    from uav.plans.model import FlightPath
    from uav.store import Store

HOME_WAIT_S = 5.0  # vehicle seconds to wait for HOME_POSITION
RADIUS_MARGIN_M = 100.0
MIN_DEFAULT_RADIUS_M = 1000.0
WINDOW_MARGIN_S = 600.0
DEFAULT_DURATION_S = 3600.0
SHOWN_PARAMS = (
    "FENCE_ENABLE",
    "FENCE_TYPE",
    "FENCE_ACTION",
    "FENCE_ALT_MAX",
    "FENCE_ALT_MIN",
    "FENCE_RADIUS",
    "FENCE_MARGIN",
    "FENCE_TOTAL",
)


class FenceRefused(DroneRefused):
    """The push was refused before anything was sent; ``reasons`` say why, ``spec`` is what
    would have been pushed."""

    def __init__(self, drone: str, reasons: Sequence[str], spec: FenceSpec | None) -> None:
        self.reasons = tuple(reasons)
        self.spec = spec
        super().__init__(drone, "fence not pushed: " + "; ".join(self.reasons))


class FenceVerifyFailed(DroneError):
    """What the drone holds after the push differs from what was sent."""


@dataclass(frozen=True)
class PushResult:
    spec: FenceSpec
    uploaded: bool  # False for --dry-run
    params_read: dict[str, float]


@dataclass(frozen=True)
class FenceReadback:
    """What ``fence show`` reads from the drone."""

    drone: str
    shapes: FenceShapes
    params: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "drone": self.drone,
            "fence": self.shapes.to_json(),
            "params": self.params,
            "bytes_max": STORAGE_BYTES,
            "notes": list(self.shapes.notes),
        }


def push_fence(
    store: Store,
    name: str,
    options: FenceOptions,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    home_wait_s: float = HOME_WAIT_S,
) -> PushResult:
    """Compile the fence for drone ``name`` and (unless ``options.dry_run``) push it."""
    options.check()
    t = target(store, name)
    start = now or now_utc()
    with connect(t) as link, about(t.name):
        home = _home(link, t.name, home_wait_s)
        path = _mission_path(link, t.name, home)
        rally = [i for i in download(link, RALLY) if i.x or i.y]
        situation = _situation(t.name, home, path, rally, options, start.timestamp())
        spec = compile_fence(
            situation, _zones(store, situation), _grants(store, situation), options
        )
        places = _places(link, home, rally)
        reasons = refusals(spec, places, path, monitored=options.monitored)
        if reasons:
            raise FenceRefused(t.name, reasons, spec)
        if options.dry_run:
            return PushResult(spec, False, {})
        read = _upload(link, t.name, spec, progress)
    return PushResult(spec, True, read)


def show_fence(store: Store, name: str, *, progress: Progress | None = None) -> FenceReadback:
    """The fence items and FENCE_* parameters the drone holds."""
    t = target(store, name)
    with connect(t) as link, about(t.name):
        items = download(link, FENCE, progress=progress)
        params = get_params(link, SHOWN_PARAMS)
    return FenceReadback(t.name, shapes_of(items), params)


def clear_fence(store: Store, name: str) -> None:
    """Clear the drone's fence items and set FENCE_ENABLE 0."""
    t = target(store, name)
    with connect(t) as link, about(t.name):
        clear(link, FENCE)
        set_params(link, {"FENCE_ENABLE": 0.0})


# ---------------------------------------------------------------------- gathering


def _home(link: DroneLink, name: str, wait_s: float) -> Home:
    try:
        return wait_until(link, lambda s: s.home, timeout_s=wait_s, what="HOME_POSITION")
    except WaitTimeout:
        raise FenceRefused(name, ["the drone has no home yet (no HOME_POSITION)"], None) from None


def _mission_path(link: DroneLink, name: str, home: Home) -> FlightPath | None:
    """The drone's current mission as a flown path; None when it holds none."""
    from uav.plans.path import build_path, profile_for
    from uav.plans.readers import read_qgc

    items = download(link, MISSION)
    if not [i for i in items if i.seq != 0]:
        return None
    doc = mission_items_to_plan_json(items, home)
    try:
        plan = read_qgc(json.dumps(doc).encode(), Path(f"{name}-mission.plan"))
        return build_path(plan, profile_for(plan))
    except PlanError as exc:
        raise DroneError(name, f"its mission cannot be read as a flight: {exc}") from exc


def _situation(
    name: str,
    home: Home,
    path: FlightPath | None,
    rally: Sequence[MissionItemInt],
    options: FenceOptions,
    start_s: float,
) -> Situation:
    radius = options.radius_m
    if radius is None:
        radius = default_radius_m(home, path, rally)
    if options.duration_s is not None:
        duration = options.duration_s
    elif path is not None:
        duration = path.duration_s + WINDOW_MARGIN_S
    else:
        duration = DEFAULT_DURATION_S
    return Situation(
        drone=name,
        home_lat_deg=home.lat_deg,
        home_lon_deg=home.lon_deg,
        home_amsl_m=home.alt_amsl_m,
        radius_m=float(radius),
        start_s=start_s,
        end_s=start_s + duration,
        max_alt_m=options.max_alt_m,
    )


def default_radius_m(
    home: Home, path: FlightPath | None, rally: Sequence[MissionItemInt] = ()
) -> float:
    """The farthest mission or rally point from home + 100 m, rounded up to 10 m, at least
    1000 m."""
    frame = FlatFrame(home.lon_deg, home.lat_deg)
    lons = [p.lon_deg for p in path.points] if path else []
    lats = [p.lat_deg for p in path.points] if path else []
    lons += [i.lon_deg for i in rally]
    lats += [i.lat_deg for i in rally]
    farthest = 0.0
    if lons:
        x, y = frame.to_xy(lons, lats)
        farthest = float(max(math.hypot(a, b) for a, b in zip(x, y, strict=True)))
    radius = max(MIN_DEFAULT_RADIUS_M, math.ceil((farthest + RADIUS_MARGIN_M) / 10.0) * 10.0)
    if radius > MAX_RADIUS_M:
        raise InputError(
            f"the mission or a rally point is {farthest:.0f} m from home: beyond the "
            f"{MAX_RADIUS_M:g} m that FENCE_RADIUS allows"
        )
    return radius


def _zones(store: Store, s: Situation) -> list[Zone]:
    from uav.geo.local import metres_to_deg_lat, metres_to_deg_lon

    r = s.select_radius_m
    dlat, dlon = metres_to_deg_lat(r), metres_to_deg_lon(r, s.home_lat_deg)
    box = (
        s.home_lon_deg - dlon,
        s.home_lat_deg - dlat,
        s.home_lon_deg + dlon,
        s.home_lat_deg + dlat,
    )
    near = store.zones(active_between=(s.start_s, s.end_s), bbox=box)
    areas = store.zones(restrictions=[Restriction.OPERATING_AREA])
    return list({z.id: z for z in [*near, *areas]}.values())


def _grants(store: Store, s: Situation) -> list[Any]:
    return store.grants(drone=s.drone, active_between=(s.start_s, s.end_s))


def _places(link: DroneLink, home: Home, rally: Sequence[MissionItemInt]) -> list[Place]:
    places = [Place("home (the RTL point)", home.lat_deg, home.lon_deg)]
    places += [Place(f"rally point {i.seq}", i.lat_deg, i.lon_deg) for i in rally]
    state = link.state
    if state.lat_deg is not None and state.lon_deg is not None:
        places.append(Place("the drone's current position", state.lat_deg, state.lon_deg))
    return places


# ---------------------------------------------------------------------- upload


def _upload(
    link: DroneLink, name: str, spec: FenceSpec, progress: Progress | None
) -> dict[str, float]:
    items = spec.shapes.to_items()
    try:
        if items:
            upload(link, FENCE, items, progress=progress)
        else:
            clear(link, FENCE)
        verify(link, FENCE, items)
    except MissionMismatch as exc:
        raise FenceVerifyFailed(
            name, f"{exc}; the fence on the drone is left as it is: check it with `fence show`"
        ) from exc
    params = dict(spec.params)
    enable = params.pop("FENCE_ENABLE")
    set_params(link, params)
    set_params(link, {"FENCE_ENABLE": enable})
    read = get_params(link, list(spec.params))
    wrong = [
        f"{k} is {read[k]:g} where {v:g} was set"
        for k, v in spec.params.items()
        if float32(read[k]) != float32(v)
    ]
    if wrong:
        raise FenceVerifyFailed(name, "parameters read back wrong: " + "; ".join(wrong))
    return read


__all__ = [
    "FenceReadback",
    "FenceRefused",
    "FenceVerifyFailed",
    "PushResult",
    "clear_fence",
    "default_radius_m",
    "push_fence",
    "show_fence",
]
