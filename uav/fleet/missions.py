"""Plans to and from a drone: check, upload and verify; download to a ``.plan``.

An upload is always preceded by the same check as ``uav plan check`` (with the drone's
grants); a plan that is not clear is never sent. ArduPilot stores items as they arrive, so a
failed upload leaves a mix of old and new items: after a failure the mission is cleared so
that it cannot be flown. Items the vehicle asks for again (a lost item) are sent again by
the link layer; a transfer that stalls is started over once.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uav.errors import InputError, PlanError
from uav.fleet.errors import DroneError, DroneLinkError, DroneRefused, HomeMismatch, PlanRefused
from uav.fleet.links import connect, target
from uav.link import (
    DroneLink,
    Home,
    LinkError,
    MissionItemInt,
    MissionMismatch,
    MissionRejected,
    WaitTimeout,
    mission_items_to_plan_json,
    plan_to_mission_items,
    wait_until,
)
from uav.link.commands import ground_distance_m
from uav.link.missions import MISSION, Progress, clear, download, upload, verify
from uav.plans.check import DEFAULT_BUFFER_M, DEFAULT_MAX_ALT_M, DEFAULT_TIME_MARGIN_S
from uav.plans.defaults import HOME_TOLERANCE_M

if TYPE_CHECKING:
    from uav.check.report import CheckReport
    from uav.plans.model import FlightPlan
    from uav.store import Store

UPLOAD_ATTEMPTS = 2
HOME_WAIT_S = 3.0  # vehicle seconds to wait for HOME_POSITION


@dataclass(frozen=True)
class CheckOptions:
    """The options of ``uav plan check`` (see :func:`uav.plans.check.check_plan_file`)."""

    at: datetime | None = None
    speed_mps: float | None = None
    buffer_m: float = DEFAULT_BUFFER_M
    max_alt_m: float = DEFAULT_MAX_ALT_M
    time_margin_s: float = DEFAULT_TIME_MARGIN_S


@dataclass(frozen=True)
class CheckedPlan:
    """A plan that passed the check for one drone, and its report (warnings, notes)."""

    plan: FlightPlan
    report: CheckReport


@dataclass(frozen=True)
class Uploaded:
    """An upload confirmed by downloading it back. ``home_offset_m``: how far the drone's home
    is from the plan's (None when the drone has no home yet)."""

    drone: str
    checked: CheckedPlan
    items: int  # mission items on the drone, home (seq 0) included
    home_offset_m: float | None


def check_for_drone(
    store: Store, name: str, plan_path: Path, options: CheckOptions | None = None
) -> CheckedPlan:
    """Check the plan as ``uav plan check --drone NAME`` does; :class:`PlanRefused` when it
    is not clear. Refuses a plan file that changed while it was being checked."""
    from uav.plans.check import check_plan_file
    from uav.plans.readers import read_plan

    opts = options or CheckOptions()
    before = _read_bytes(plan_path)
    report = check_plan_file(
        store,
        plan_path,
        drone=name,
        at=opts.at,
        speed_mps=opts.speed_mps,
        buffer_m=opts.buffer_m,
        max_alt_m=opts.max_alt_m,
        time_margin_s=opts.time_margin_s,
    )
    if not report.clear:
        raise PlanRefused(name, report)
    plan = read_plan(plan_path)
    if before is None or _read_bytes(plan_path) != before:
        raise PlanError(f"{plan_path} changed while it was being checked: check it again")
    return CheckedPlan(plan, report)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def upload_plan(
    store: Store,
    name: str,
    plan_path: Path,
    options: CheckOptions | None = None,
    *,
    progress: Progress | None = None,
    home_tolerance_m: float = HOME_TOLERANCE_M,
) -> Uploaded:
    """Check the plan for drone ``name``, then upload it and verify it by downloading it back.
    Nothing is sent when the check fails or when the drone's home is more than
    ``home_tolerance_m`` from the plan's."""
    if not (math.isfinite(home_tolerance_m) and home_tolerance_m >= 0):
        raise InputError(f"--home-tolerance {home_tolerance_m}: must be >= 0 m")
    t = target(store, name)
    checked = check_for_drone(store, t.name, plan_path, options)
    items = plan_to_mission_items(checked.plan)
    with connect(t) as link:
        offset_m = check_home(t.name, checked.plan, current_home(link), home_tolerance_m)
        upload_mission(link, t.name, items, progress=progress)
    return Uploaded(t.name, checked, len(items), offset_m)


def current_home(link: DroneLink, wait_s: float = HOME_WAIT_S) -> Home | None:
    """The drone's home (HOME_POSITION), waiting a little for it; None when it has none."""
    try:
        return wait_until(link, lambda s: s.home, timeout_s=wait_s, what="HOME_POSITION")
    except WaitTimeout:
        return None
    except LinkError as exc:
        raise DroneLinkError(link.name, str(exc)) from exc


def check_home(name: str, plan: FlightPlan, home: Home | None, tolerance_m: float) -> float | None:
    """How far the drone's home is from the plan's; :class:`HomeMismatch` beyond
    ``tolerance_m`` (the check then describes another flight than the one flown)."""
    if home is None:
        return None
    offset_m = ground_distance_m(home.lat_deg, home.lon_deg, plan.home_lat_deg, plan.home_lon_deg)
    if offset_m > tolerance_m:
        raise HomeMismatch(
            name,
            f"its home ({home.lat_deg:.6f}, {home.lon_deg:.6f}) is {offset_m:.0f} m from the "
            f"plan's home ({plan.home_lat_deg:.6f}, {plan.home_lon_deg:.6f}), more than "
            f"{tolerance_m:g} m: the check does not describe this flight; nothing was sent",
        )
    return offset_m


def upload_mission(
    link: DroneLink,
    name: str,
    items: Sequence[MissionItemInt],
    *,
    progress: Progress | None = None,
    attempts: int = UPLOAD_ATTEMPTS,
) -> list[MissionItemInt]:
    """Upload and verify, starting over once when the transfer stalls or reads back wrong;
    on failure the drone's mission is cleared. Returns what the drone holds."""
    for attempt in range(1, attempts + 1):
        try:
            upload(link, MISSION, items, progress=progress)
            return verify(link, MISSION, items)
        except (WaitTimeout, MissionMismatch) as exc:
            if attempt < attempts:
                continue
            raise DroneLinkError(name, _cleared(link, f"upload failed: {exc}")) from exc
        except MissionRejected as exc:
            raise DroneRefused(name, _cleared(link, str(exc)), exc.texts) from exc
        except LinkError as exc:
            raise DroneLinkError(name, _cleared(link, f"upload failed: {exc}")) from exc
        except BaseException:  # Ctrl-C in the middle of a transfer
            _cleared(link, "")
            raise
    raise AssertionError("unreachable")


def _cleared(link: DroneLink, message: str) -> str:
    """Clear the mission (best effort) and say what became of it."""
    try:
        clear(link, MISSION)
    except LinkError as exc:
        return f"{message}; the drone's mission could NOT be cleared ({exc}): do not fly it"
    return f"{message}; the drone's mission was cleared so that a partial one cannot be flown"


def download_plan(
    store: Store, name: str, *, progress: Progress | None = None
) -> tuple[dict[str, Any], int]:
    """The drone's mission as a QGroundControl ``.plan`` document, and its number of items
    (home not counted)."""
    t = target(store, name)
    with connect(t) as link:
        try:
            items = download(link, MISSION, progress=progress)
        except LinkError as exc:
            raise DroneLinkError(t.name, f"download failed: {exc}") from exc
        home = current_home(link) or _home_item(items)
    real = [i for i in items if i.seq != 0]
    if not real:
        raise DroneError(t.name, "the drone holds no mission: nothing to write")
    if home is None:
        raise DroneError(t.name, "the drone has no home yet: a .plan needs one")
    return mission_items_to_plan_json(items, home), len(real)


def _home_item(items: Sequence[MissionItemInt]) -> Home | None:
    if items and items[0].seq == 0 and (items[0].x or items[0].y):
        return Home(items[0].lat_deg, items[0].lon_deg, items[0].z)
    return None


def write_plan(doc: dict[str, Any], path: Path) -> None:
    """Write the document to ``path`` in one step (a partial file is never left behind)."""
    try:
        text = json.dumps(doc, indent=4, allow_nan=False) + "\n"
    except ValueError as exc:  # a NaN where a .plan needs a number
        raise PlanError(f"cannot write {path}: {exc}") from None
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise PlanError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PlanError(f"cannot write {path}: {exc.strerror or exc}") from None
