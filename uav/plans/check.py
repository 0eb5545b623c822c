"""Check a plan file against the zones and grants in the store: the library call behind
``uav plan check``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from uav.errors import InputError
from uav.geo.local import metres_to_deg_lat, metres_to_deg_lon
from uav.plans.defaults import DEFAULT_BUFFER_M, DEFAULT_MAX_ALT_M, DEFAULT_TIME_MARGIN_S
from uav.plans.model import FlightPath
from uav.timeutil import now_utc
from uav.zones.model import Restriction

if TYPE_CHECKING:
    from uav.check.report import CheckReport
    from uav.store import Store


def check_plan_file(
    store: Store,
    plan_path: Path,
    *,
    drone: str | None = None,
    at: datetime | None = None,
    speed_mps: float | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    max_alt_m: float = DEFAULT_MAX_ALT_M,
    time_margin_s: float = DEFAULT_TIME_MARGIN_S,
) -> CheckReport:
    """Read the plan, build the flown path and check it against the store."""
    from uav.plans.path import build_path, profile_for
    from uav.plans.readers import read_plan

    _check_options(speed_mps, buffer_m, max_alt_m, time_margin_s)
    plan = read_plan(plan_path)
    path = build_path(plan, profile_for(plan, speed_mps))
    return check_flight_path(
        store,
        path,
        drone=drone,
        at=at,
        buffer_m=buffer_m,
        max_alt_m=max_alt_m,
        time_margin_s=time_margin_s,
    )


def check_flight_path(
    store: Store,
    path: FlightPath,
    *,
    drone: str | None = None,
    at: datetime | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    max_alt_m: float = DEFAULT_MAX_ALT_M,
    time_margin_s: float = DEFAULT_TIME_MARGIN_S,
) -> CheckReport:
    """Check an already built path: loads the zones near it and active during it, every
    operating area, and the drone's grants."""
    from uav.check.engine import check_path
    from uav.check.index import ZoneIndex

    start = at or now_utc()
    t0 = start.timestamp() - time_margin_s
    t1 = start.timestamp() + path.duration_s + time_margin_s
    nearby = store.zones(active_between=(t0, t1), bbox=_bbox(path, buffer_m + 100.0))
    # Every operating area counts, wherever and whenever: the path must lie inside one.
    areas = store.zones(restrictions=[Restriction.OPERATING_AREA])
    zones = list({z.id: z for z in [*nearby, *areas]}.values())
    grants = store.grants(drone=drone, active_between=(t0, t1)) if drone else []
    return check_path(
        path,
        ZoneIndex(zones),
        start=start,
        drone=drone,
        grants=grants,
        buffer_m=buffer_m,
        max_alt_m=max_alt_m,
        time_margin_s=time_margin_s,
    )


def _bbox(path: FlightPath, margin_m: float) -> tuple[float, float, float, float]:
    lats = [p.lat_deg for p in path.points]
    lons = [p.lon_deg for p in path.points]
    dlat = metres_to_deg_lat(margin_m)
    dlon = metres_to_deg_lon(margin_m, max(abs(min(lats)), abs(max(lats))))
    return (min(lons) - dlon, min(lats) - dlat, max(lons) + dlon, max(lats) + dlat)


def _check_options(
    speed_mps: float | None, buffer_m: float, max_alt_m: float, time_margin_s: float
) -> None:
    if speed_mps is not None and not speed_mps > 0:
        raise InputError(f"--speed {speed_mps}: must be > 0 m/s")
    if not buffer_m >= 0:
        raise InputError(f"--buffer {buffer_m}: must be >= 0 m")
    if not max_alt_m > 0:
        raise InputError(f"--max-alt {max_alt_m}: must be > 0 m")
    if not time_margin_s >= 0:
        raise InputError(f"--time-margin {time_margin_s}: must be >= 0 s")
