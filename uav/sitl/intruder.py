"""An intruder's mission: read and checked with its config, flown by ``uav sitl up``.

A config with ``role = "intruder"`` may name a plan (``mission = "missions/FILE.plan"``, any
format :func:`uav.plans.readers.read_plan` reads). :func:`load_mission` checks it when the
config loads: readable, starting with a take-off (ArduCopter does not start AUTO from the
ground otherwise: ``Auto: Missing Takeoff Cmd``), its home within
:data:`~uav.plans.defaults.HOME_TOLERANCE_M` of the config's. It is **not** checked against
the zones: an intruder is meant to break them.

:func:`fly_mission`, after the readiness wait, does what ``uav fly`` does with the library's
own functions (no registry involved): wait for the pre-arm checks and home, fill in the
vehicle's Remote ID serial number when it broadcasts Remote ID (as a ground station would,
sitl-traces scenario 6), upload the mission and verify it by reading it back, then GUIDED,
arm and MISSION_START, and confirm the vehicle runs the mission in AUTO. Every wait is
bounded; failures are :class:`~uav.fleet.errors.DroneError` naming the drone. The same path
serves ArduPilot SITL and uav's emulator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uav.errors import InputError, Location

if TYPE_CHECKING:
    from uav.link import DroneLink, MissionItemInt, VehicleState
    from uav.sitl.config import Home, SitlConfig

MAV_CMD_NAV_TAKEOFF = 22
NAV_LAST = 95  # MAV_CMD numbers below this are NAV commands
CONNECT_TIMEOUT_S = 10.0  # wall seconds for the TCP connect, then for the first HEARTBEAT
RUNNING_TIMEOUT_S = 10.0  # vehicle seconds for MISSION_CURRENT to show the mission running
MISSION_STATE_ACTIVE = 3
ODID_ID_TYPE_SERIAL = 1
ODID_ID_TYPE_CAA = 2
ODID_UA_TYPE_MULTIROTOR = 2  # MAV_ODID_UA_TYPE_HELICOPTER_OR_MULTIROTOR
ODID_ID_LEN = 20


def load_mission(
    raw: Mapping[str, Any], config_path: Path, home: Home, role: str | None
) -> tuple[Path | None, tuple[MissionItemInt, ...]]:
    """The config's ``mission`` key: the plan's absolute path and the items to upload
    (seq 0 = home placeholder), or (None, ()) without one. Every problem is an
    :class:`InputError` naming the config file."""
    where = Location(file=config_path)
    item = raw.get("mission")
    if item is None:
        return None, ()
    if not isinstance(item, str) or not item.strip():
        raise InputError("mission must be a plan file name (relative to the config)", where)
    if role != "intruder":
        raise InputError(
            'mission: only an intruder (role = "intruder") flies a mission at `uav sitl up`; '
            "the unit's drones fly checked plans with `uav fly`",
            where,
        )
    found = (config_path.parent / item).resolve()
    if not found.is_file():
        raise InputError(f"mission file {item} not found (looked at {found})", where)
    from uav.link.mission_items import plan_to_mission_items
    from uav.plans.readers import read_plan

    try:
        plan = read_plan(found)
        items = plan_to_mission_items(plan)
    except InputError as exc:
        raise InputError(f"mission {item}: {exc}", where) from None
    _check_takeoff_first(item, [(i.seq, i.command) for i in plan.items], where)
    _check_home(item, (plan.home_lat_deg, plan.home_lon_deg), home, where)
    return found, tuple(items)


def _check_takeoff_first(item: str, commands: Sequence[tuple[int, int]], where: Location) -> None:
    first_nav = next(((seq, c) for seq, c in commands if c < NAV_LAST), None)
    if first_nav is None:
        raise InputError(f"mission {item}: it has no NAV command to fly", where)
    if first_nav[1] != MAV_CMD_NAV_TAKEOFF:
        raise InputError(
            f"mission {item}: its first NAV command (item {first_nav[0]}, MAV_CMD "
            f"{first_nav[1]}) is not a take-off (22); ArduCopter starts a mission from the "
            "ground only with one",
            where,
        )


def _check_home(item: str, plan_home: tuple[float, float], home: Home, where: Location) -> None:
    from uav.link.commands import ground_distance_m
    from uav.plans.defaults import HOME_TOLERANCE_M

    off_m = ground_distance_m(home.lat_deg, home.lon_deg, *plan_home)
    if off_m > HOME_TOLERANCE_M:
        raise InputError(
            f"mission {item}: its home ({plan_home[0]:.6f}, {plan_home[1]:.6f}) is {off_m:.0f} m "
            f"from the config's [home], more than {HOME_TOLERANCE_M:g} m",
            where,
        )


def fly_mission(
    url: str,
    cfg: SitlConfig,
    *,
    ready_timeout_s: float,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> VehicleState:
    """Upload ``cfg``'s mission to the vehicle at ``url``, arm it and start the mission in
    AUTO (see the module notes); returns the state showing it running. The link is closed
    again (the vehicle flies on by itself); nothing is checked against the zones."""
    from uav.fleet.errors import about
    from uav.link import DroneLink, LinkConfig

    if not cfg.mission_items:
        raise InputError(f"{cfg.name}: no mission to fly")
    config = LinkConfig(connect_timeout_s=connect_timeout_s, target_system=cfg.sysid)
    link = DroneLink(url, config, name=cfg.name)
    try:
        with about(cfg.name):
            link.open()
        return _fly(link, cfg, ready_timeout_s)
    finally:
        link.close()


def _fly(link: DroneLink, cfg: SitlConfig, ready_timeout_s: float) -> VehicleState:
    from uav.fleet.events import ignore
    from uav.fleet.fly import start, wait_ready
    from uav.fleet.missions import upload_mission

    _refuse_if_armed(link, cfg.name)
    wait_ready(link, cfg.name, ready_timeout_s, ignore)
    send_remote_id(link, cfg)
    upload_mission(link, cfg.name, cfg.mission_items)
    start(link, cfg.name)
    return wait_running(link, cfg.name)


def _refuse_if_armed(link: DroneLink, name: str) -> None:
    """A vehicle already armed is not this call's to fly (it starts from the ground)."""
    from uav.fleet.errors import DroneRefused

    if link.state.armed:
        raise DroneRefused(name, f"is armed (in {link.state.mode_name}): mission not started")


def wait_running(link: DroneLink, name: str, timeout_s: float = RUNNING_TIMEOUT_S) -> VehicleState:
    """Wait (vehicle clock) until the vehicle is armed in AUTO and MISSION_CURRENT shows the
    mission active at an item past home."""
    from uav.fleet.errors import DroneLinkError, about
    from uav.link import WaitTimeout, wait_until
    from uav.link.modes import mode_number

    auto = mode_number("AUTO")

    def running(s: VehicleState) -> VehicleState | None:
        ok = s.armed and s.custom_mode == auto and (s.mission_seq or 0) >= 1
        return s if ok and s.mission_state == MISSION_STATE_ACTIVE else None

    try:
        with about(name):
            return wait_until(link, running, timeout_s=timeout_s, what="the mission running")
    except DroneLinkError as exc:
        if isinstance(exc.__cause__, WaitTimeout):
            s = link.state
            raise DroneLinkError(
                name,
                f"the mission is not running after {timeout_s:g} s: armed {s.armed}, mode "
                f"{s.mode_name}, mission item {s.mission_seq}, mission state {s.mission_state}",
            ) from exc
        raise


def remote_id_content(cfg: SitlConfig) -> tuple[int, bytes] | None:
    """(id_type, uas_id) for OPEN_DRONE_ID_BASIC_ID: the serial number, else the registration
    id; None when the vehicle does not broadcast Remote ID (``DID_ENABLE``) or has no id."""
    from uav.sitl.config import effective_params

    if int(effective_params(cfg.params).get("DID_ENABLE", 0)) != 1:
        return None
    if cfg.serial:
        return ODID_ID_TYPE_SERIAL, cfg.serial.encode("ascii")
    if cfg.remote_id:
        return ODID_ID_TYPE_CAA, cfg.remote_id.encode("ascii")
    return None


def send_remote_id(link: DroneLink, cfg: SitlConfig) -> None:
    """Fill in the vehicle's BASIC_ID as a ground station does (it then broadcasts it in its
    rotation, byte for byte); nothing when :func:`remote_id_content` gives nothing."""
    content = remote_id_content(cfg)
    if content is None:
        return
    id_type, uas_id = content
    mav: Any = link.mav
    zero = [0] * ODID_ID_LEN
    padded = list(uas_id.ljust(ODID_ID_LEN, b"\0"))
    msg = mav.open_drone_id_basic_id_encode(
        link.target_system, link.target_component, zero, id_type, ODID_UA_TYPE_MULTIROTOR, padded
    )
    from uav.fleet.errors import about

    with about(cfg.name):
        link.send(msg)
