"""Simulated-drone configurations: one TOML file per drone in ``sitl_configs/``.

The schema is documented in ``sitl_configs/README.md``. Every problem is an
:class:`~uav.errors.InputError` naming the file (and the line, for parameter files); unknown
keys are refused so that a typo cannot silently change a launch.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uav.errors import InputError, Location

if TYPE_CHECKING:
    from uav.link import MissionItemInt

VEHICLES = ("copter",)
MODELS = ("+", "quad")
ROLES = ("intruder",)
MAX_INSTANCE = 5976  # 5763 + 10 * N must stay a TCP port
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # = uav.store.drones.DRONE_NAME_RE
PARAM_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
READONLY_FLAG = "@READONLY"  # ArduPilot's optional third field in a defaults file
# Names from older firmware that ArduCopter 4.7 no longer has (see sitl-traces/README.md).
LEGACY_PARAMS = {"SYSID_THISMAV": "MAV_SYSID", "SYSID_MYGCS": "MAV_GCS_SYSID"}

TOP_KEYS = {
    "name",
    "vehicle",
    "model",
    "instance",
    "speedup",
    "sysid",
    "params",
    "serial",
    "remote_id",
    "role",
    "home",
    "intruders",
    "mission",
}
HOME_KEYS = {"lat_deg", "lon_deg", "alt_amsl_m", "heading_deg"}


@dataclass(frozen=True)
class Home:
    """The simulated take-off point. Altitude is AMSL (metres above mean sea level)."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    heading_deg: float

    def as_arg(self) -> str:
        """``LAT,LON,ALT,HDG`` as ``arducopter --home`` takes it."""
        return ",".join(
            fmt_number(v) for v in (self.lat_deg, self.lon_deg, self.alt_amsl_m, self.heading_deg)
        )


@dataclass(frozen=True)
class SitlConfig:
    """One simulated drone. ``params`` are absolute paths, in load order."""

    name: str
    vehicle: str
    model: str
    home: Home
    instance: int
    speedup: float
    sysid: int
    params: tuple[Path, ...]
    serial: str | None = None
    remote_id: str | None = None
    role: str | None = None
    source: Path | None = None
    intruders: Path | None = None  # set-track intruders for the emulator (absolute path)
    mission: Path | None = None  # an intruder's plan, flown by `up` (absolute path)
    # the items uploaded (seq 0 = home placeholder), read and checked with the config
    mission_items: tuple[MissionItemInt, ...] = field(default=(), repr=False)

    @property
    def is_intruder(self) -> bool:
        return self.role == "intruder"


def fmt_number(value: float) -> str:
    """Shortest text for a number: ``20`` for 20.0, ``23.1291`` for 23.1291."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def default_configs_dir() -> Path:
    """``$UAV_SITL_CONFIGS``, else ``./sitl_configs``, else the folder shipped with uav."""
    env = os.environ.get("UAV_SITL_CONFIGS")
    if env:
        return Path(env).expanduser()
    local = Path.cwd() / "sitl_configs"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[2] / "sitl_configs"


def load_config(path: Path) -> SitlConfig:
    """Read and check one drone's TOML file."""
    where = Location(file=path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", where) from None
    return _config_from_mapping(raw, path)


def load_configs(folder: Path) -> list[SitlConfig]:
    """Every ``*.toml`` in ``folder``, by instance; names and instances must be unique."""
    if not folder.is_dir():
        raise InputError(f"no simulator configuration folder {folder}")
    configs = [load_config(p) for p in sorted(folder.glob("*.toml"))]
    _check_unique(configs)
    return sorted(configs, key=lambda c: c.instance)


def select_configs(
    folder: Path, names: Sequence[str], *, include_intruders: bool = False
) -> list[SitlConfig]:
    """The configs named (a drone name or a path to a .toml file).

    With no names: every drone of the unit, i.e. every config without a role, plus the
    intruders when ``include_intruders``.
    """
    files = [Path(n) for n in names if n.endswith(".toml")]
    by_name = [n for n in names if not n.endswith(".toml")]
    pool = load_configs(folder) if by_name or not names else []
    chosen: list[SitlConfig] = [load_config(f) for f in files]
    known = {c.name: c for c in pool}
    missing = [n for n in by_name if n not in known]
    if missing:
        have = ", ".join(sorted(known)) or "none"
        raise InputError(
            f"no simulator config named {', '.join(missing)} in {folder} (have: {have})"
        )
    chosen += [known[n] for n in by_name]
    if not names:
        chosen = [c for c in pool if include_intruders or c.role is None]
    _check_unique(chosen)
    return chosen


def read_parm_file(path: Path) -> dict[str, float]:
    """An ArduPilot parameter file: ``NAME VALUE`` lines (``,`` or ``=`` also separate; an
    optional ``@READONLY`` follows the value), ``#`` comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(
            f"cannot read parameter file: {exc.strerror}", Location(file=path)
        ) from None
    values: dict[str, float] = {}
    for number, line in enumerate(lines, start=1):
        parsed = _parm_line(line, Location(file=path, line=number))
        if parsed is not None:
            values[parsed[0]] = parsed[1]
    return values


def effective_params(paths: Iterable[Path]) -> dict[str, float]:
    """The values the files set together; a later file wins, as with ``--defaults a,b``."""
    merged: dict[str, float] = {}
    for p in paths:
        merged.update(read_parm_file(p))
    return merged


def _parm_line(line: str, where: Location) -> tuple[str, float] | None:
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    parts = text.replace(",", " ").replace("=", " ").split()
    if len(parts) == 3 and parts[2] == READONLY_FLAG:
        parts = parts[:2]
    if len(parts) != 2:
        raise InputError(f"expected 'NAME VALUE', got {line.strip()!r}", where)
    name, value_text = parts
    if not PARAM_NAME_RE.match(name):
        raise InputError(f"{name!r} is not an ArduPilot parameter name", where)
    if name in LEGACY_PARAMS:
        raise InputError(
            f"{name} does not exist in ArduCopter 4.7; use {LEGACY_PARAMS[name]}", where
        )
    if name.startswith("SR0_"):
        raise InputError(f"{name}: SRn_* stream rates are now MAV1_* (SERIAL0 = MAV1)", where)
    try:
        value = float(value_text)
    except ValueError:
        raise InputError(f"{name}: {value_text!r} is not a number", where) from None
    if not math.isfinite(value):
        raise InputError(f"{name}: {value_text!r} is not a finite number", where)
    return name, value


def _config_from_mapping(raw: Mapping[str, Any], path: Path) -> SitlConfig:
    where = Location(file=path)
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)}", where)
    name = _text(raw, "name", where, required=True)
    assert name is not None
    if not NAME_RE.match(name):
        raise InputError(f"name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)", where)
    vehicle = _choice(raw, "vehicle", VEHICLES, where, default="copter")
    model = _choice(raw, "model", MODELS, where, default="+")
    role = _text(raw, "role", where)
    if role is not None and role not in ROLES:
        raise InputError(f"role {role!r}: must be one of {', '.join(ROLES)} (or absent)", where)
    instance = _integer(raw, "instance", where, 0, MAX_INSTANCE)
    sysid = _integer(raw, "sysid", where, 1, 254, default=1)
    speedup = _number(raw, "speedup", where, default=1.0)
    if speedup <= 0:
        raise InputError(f"speedup {speedup}: must be above 0", where)
    params = _param_paths(raw, path)
    _check_sysid_param(sysid, params, where)
    home = _home(raw.get("home"), where)
    from uav.sitl.intruder import load_mission

    mission, mission_items = load_mission(raw, path, home, role)
    return SitlConfig(
        name=name,
        vehicle=vehicle,
        model=model,
        home=home,
        instance=instance,
        speedup=speedup,
        sysid=sysid,
        params=params,
        serial=_uas_id(raw, "serial", where),
        remote_id=_uas_id(raw, "remote_id", where),
        role=role,
        source=path.resolve(),
        intruders=_intruders_path(raw, path),
        mission=mission,
        mission_items=mission_items,
    )


def _home(raw: object, where: Location) -> Home:
    if not isinstance(raw, dict):
        raise InputError("missing [home] table (lat_deg, lon_deg, alt_amsl_m, heading_deg)", where)
    unknown = sorted(set(raw) - HOME_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) in [home]: {', '.join(unknown)}", where)
    lat = _number(raw, "lat_deg", where)
    lon = _number(raw, "lon_deg", where)
    heading = _number(raw, "heading_deg", where, default=0.0)
    if not -90 <= lat <= 90:
        raise InputError(f"home lat_deg {lat} is outside -90..90", where)
    if not -180 <= lon <= 180:
        raise InputError(f"home lon_deg {lon} is outside -180..180", where)
    if not 0 <= heading < 360:
        raise InputError(f"home heading_deg {heading} is outside 0..360", where)
    return Home(lat, lon, _number(raw, "alt_amsl_m", where), heading)


def _param_paths(raw: Mapping[str, Any], path: Path) -> tuple[Path, ...]:
    where = Location(file=path)
    items = raw.get("params", [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InputError("params must be a list of file names (relative to the config)", where)
    out: list[Path] = []
    for item in items:
        p = (path.parent / item).resolve()
        if "," in str(p):
            raise InputError(
                f"parameter file path {p} contains ',' (--defaults splits on it)", where
            )
        if not p.is_file():
            raise InputError(f"parameter file {item} not found (looked at {p})", where)
        out.append(p)
    return tuple(out)


def _intruders_path(raw: Mapping[str, Any], path: Path) -> Path | None:
    """``intruders``: a TOML/JSON file of set-track intruders (relative to the config), read
    and checked now so that a bad file stops ``up`` before anything starts."""
    where = Location(file=path)
    item = raw.get("intruders")
    if item is None:
        return None
    if not isinstance(item, str) or not item.strip():
        raise InputError("intruders must be a file name (relative to the config)", where)
    found = (path.parent / item).resolve()
    if not found.is_file():
        raise InputError(f"intruder file {item} not found (looked at {found})", where)
    from uav.sim.traffic_intruders import load_intruders

    if not load_intruders(found):
        raise InputError(f"intruder file {item} describes no intruders", where)
    return found


def _check_sysid_param(sysid: int, params: Sequence[Path], where: Location) -> None:
    """The vehicle takes its id from MAV_SYSID (default 1): it must agree with ``sysid``."""
    param_sysid = int(effective_params(params).get("MAV_SYSID", 1))
    if param_sysid != sysid:
        raise InputError(
            f"sysid is {sysid} but the parameter files give MAV_SYSID {param_sysid}; "
            f"add a file with 'MAV_SYSID {sysid}'",
            where,
        )


def _check_unique(configs: Sequence[SitlConfig]) -> None:
    for attr in ("name", "instance"):
        seen: dict[object, SitlConfig] = {}
        for c in configs:
            key = getattr(c, attr)
            if key in seen:
                raise InputError(f"{attr} {key} is used by both {seen[key].source} and {c.source}")
            seen[key] = c


def _text(
    raw: Mapping[str, Any], key: str, where: Location, *, required: bool = False
) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise InputError(f"missing key {key!r}", where)
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{key} must be a non-empty string", where)
    return value.strip()


def _uas_id(raw: Mapping[str, Any], key: str, where: Location) -> str | None:
    from uav.store.drones import check_uas_id

    try:
        return check_uas_id(key, _text(raw, key, where))
    except InputError as exc:
        raise InputError(exc.message, where) from None


def _choice(
    raw: Mapping[str, Any], key: str, allowed: Sequence[str], where: Location, default: str
) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise InputError(f"{key} {value!r}: must be one of {', '.join(allowed)}", where)
    return str(value)


def _integer(
    raw: Mapping[str, Any],
    key: str,
    where: Location,
    low: int,
    high: int,
    default: int | None = None,
) -> int:
    value = raw.get(key, default)
    if value is None:
        raise InputError(f"missing key {key!r}", where)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{key} {value!r}: must be a whole number in {low}..{high}", where)
    return value


def _number(
    raw: Mapping[str, Any], key: str, where: Location, default: float | None = None
) -> float:
    value = raw.get(key, default)
    if value is None:
        raise InputError(f"missing key {key!r}", where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{key} {value!r}: must be a number", where)
    return float(value)
