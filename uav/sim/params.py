"""The parameter table: 1333 ArduCopter 4.7 parameters with their MAVLink types.

The defaults are ``data/copter-defaults.tsv``, the full PARAM_REQUEST_LIST download of a fresh
SITL started with ArduPilot's ``copter.parm`` (a copy of the traces' ``params-default.tsv``),
in param_index order. ``--defaults`` .parm files override values at boot.

Two groups stay hidden until their enable parameter is non-zero, as in the recordings:
``DID_ENABLE 1`` adds the 4 DID_* parameters (1333 -> 1337, names, types and defaults observed
in remoteid.jsonl) and ``ADSB_TYPE 1`` adds 14 ADSB_* parameters (1333 -> 1347; the count and
ADSB_LIST_RADIUS / ADSB_LIST_ALT observed in adsb.jsonl, the other names, types and defaults
*from source*).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from uav.errors import InputError

DEFAULTS_RESOURCE = "data/copter-defaults.tsv"

TYPE_INT8 = 2
TYPE_INT16 = 4
TYPE_INT32 = 6
TYPE_REAL32 = 9

TYPE_BY_NAME = {
    "MAV_PARAM_TYPE_INT8": TYPE_INT8,
    "MAV_PARAM_TYPE_INT16": TYPE_INT16,
    "MAV_PARAM_TYPE_INT32": TYPE_INT32,
    "MAV_PARAM_TYPE_REAL32": TYPE_REAL32,
}
INT_RANGES = {
    TYPE_INT8: (-128, 127),
    TYPE_INT16: (-32768, 32767),
    TYPE_INT32: (-(2**31), 2**31 - 1),
}

# enable parameter -> the hidden parameters it reveals, in list order: (name, default, type)
HIDDEN_GROUPS: dict[str, tuple[tuple[str, float, int], ...]] = {
    "DID_ENABLE": (
        ("DID_MAVPORT", -1.0, TYPE_INT8),
        ("DID_OPTIONS", 0.0, TYPE_INT16),
        ("DID_CANDRIVER", 0.0, TYPE_INT8),
        ("DID_BARO_ACC", -1.0, TYPE_REAL32),
    ),
    "ADSB_TYPE": (
        ("ADSB_LIST_MAX", 25.0, TYPE_INT16),
        ("ADSB_LIST_RADIUS", 2000.0, TYPE_INT32),
        ("ADSB_ICAO_ID", 0.0, TYPE_INT32),
        ("ADSB_EMIT_TYPE", 14.0, TYPE_INT8),
        ("ADSB_LEN_WIDTH", 1.0, TYPE_INT8),
        ("ADSB_OFFSET_LAT", 0.0, TYPE_INT8),
        ("ADSB_OFFSET_LON", 0.0, TYPE_INT8),
        ("ADSB_RF_SELECT", 3.0, TYPE_INT8),
        ("ADSB_SQUAWK", 1200.0, TYPE_INT16),
        ("ADSB_RF_CAPABLE", 0.0, TYPE_INT8),
        ("ADSB_LIST_ALT", 0.0, TYPE_INT16),
        ("ADSB_ICAO_SPECL", 0.0, TYPE_INT32),
        ("ADSB_LOG", 1.0, TYPE_INT8),
        ("ADSB_OPTIONS", 0.0, TYPE_INT32),
    ),
}


@dataclass
class Param:
    name: str
    value: float
    ptype: int
    default: float
    readonly: bool = False


@dataclass(frozen=True)
class ParamEcho:
    """What a PARAM_VALUE reports for one parameter."""

    name: str
    value: float
    ptype: int
    index: int
    count: int


def to_float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def coerce(value: float, ptype: int) -> float:
    """The value a parameter of type ``ptype`` stores for ``value`` (ArduPilot rounds integer
    types by adding 0.01 away from zero, then truncating, within the type's range)."""
    if ptype == TYPE_REAL32:
        return to_float32(value)
    low, high = INT_RANGES[ptype]
    nudged = value + math.copysign(0.01, value)
    return float(int(min(max(nudged, low), high)))


def read_defaults_table(text: str) -> list[Param]:
    """Parse the name/value/type TSV (with a header line)."""
    params: list[Param] = []
    for line_no, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        try:
            name, value_text, type_name = line.split("\t")
            ptype = TYPE_BY_NAME[type_name]
            value = coerce(float(value_text), ptype)
        except (ValueError, KeyError):
            raise InputError(f"{DEFAULTS_RESOURCE} line {line_no}: cannot read {line!r}") from None
        params.append(Param(name, value, ptype, value))
    return params


def load_default_params() -> list[Param]:
    text = resources.files("uav.sim").joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")
    return read_defaults_table(text)


@dataclass(frozen=True)
class ParmEntry:
    name: str
    value: float
    readonly: bool
    line: int


def read_parm_file(path: Path) -> list[ParmEntry]:
    """An ArduPilot .parm file: ``NAME VALUE`` (or ``,``/``=`` separated), ``#`` comments, an
    optional trailing ``@READONLY``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read parameter file {path}: {exc.strerror or exc}") from None
    entries: list[ParmEntry] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.replace(",", " ").replace("=", " ").split()
        readonly = words[-1].upper() == "@READONLY"
        if readonly:
            words = words[:-1]
        if len(words) != 2:
            raise InputError(f"{path} line {line_no}: expected NAME VALUE, got {raw.strip()!r}")
        try:
            value = float(words[1])
        except ValueError:
            raise InputError(f"{path} line {line_no}: {words[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{path} line {line_no}: {words[1]!r} is not a finite number")
        entries.append(ParmEntry(words[0].upper(), value, readonly, line_no))
    return entries


class ParamStore:
    """The vehicle's parameters, in list order, with visibility of the hidden groups."""

    def __init__(self, params: Iterable[Param]) -> None:
        self._ordered: list[Param] = []
        for param in params:
            self._ordered.append(param)
            for name, default, ptype in HIDDEN_GROUPS.get(param.name, ()):
                self._ordered.append(Param(name, coerce(default, ptype), ptype, default))
        self._by_name = {p.name: p for p in self._ordered}
        self.version = 0
        self._visible: list[Param] = []
        self._index: dict[str, int] = {}
        self._visible_version = -1

    @classmethod
    def with_defaults(cls) -> ParamStore:
        return cls(load_default_params())

    # ---- reading ----
    def _refresh(self) -> None:
        if self._visible_version == self.version:
            return
        hidden = {
            name
            for enable, group in HIDDEN_GROUPS.items()
            if self._by_name[enable].value == 0
            for name, _, _ in group
        }
        self._visible = [p for p in self._ordered if p.name not in hidden]
        self._index = {p.name: i for i, p in enumerate(self._visible)}
        self._visible_version = self.version

    @property
    def count(self) -> int:
        self._refresh()
        return len(self._visible)

    def exists(self, name: str) -> bool:
        self._refresh()
        return name in self._index

    def get(self, name: str) -> float:
        """Current value (KeyError if the parameter does not exist or is hidden)."""
        self._refresh()
        if name not in self._index:
            raise KeyError(name)
        return self._by_name[name].value

    def get_or(self, name: str, fallback: float) -> float:
        try:
            return self.get(name)
        except KeyError:
            return fallback

    def echo(self, name: str, *, by_index: bool = False) -> ParamEcho:
        """The PARAM_VALUE for ``name``: its list index, or 65535 for a read by name."""
        self._refresh()
        param = self._by_name[name]
        index = self._index[name] if by_index else 65535
        return ParamEcho(param.name, param.value, param.ptype, index, len(self._visible))

    def echo_at(self, index: int) -> ParamEcho | None:
        self._refresh()
        if not 0 <= index < len(self._visible):
            return None
        param = self._visible[index]
        return ParamEcho(param.name, param.value, param.ptype, index, len(self._visible))

    # ---- writing ----
    def apply_defaults(self, entries: Iterable[ParmEntry]) -> list[str]:
        """Boot-time defaults from .parm files; returns the names that do not exist."""
        unknown: list[str] = []
        for entry in entries:
            param = self._by_name.get(entry.name)
            if param is None:
                unknown.append(entry.name)
                continue
            param.value = param.default = coerce(entry.value, param.ptype)
            param.readonly = param.readonly or entry.readonly
        self.version += 1
        return unknown

    def set(self, name: str, value: float) -> ParamEcho | None:
        """PARAM_SET: store ``value`` and return the echo (None: unknown, hidden or read-only).

        Quirk (fence.jsonl): a set that changes nothing, to a value equal to the default, is
        echoed with type REAL32 while the list reports the parameter's own type.
        """
        if not self.exists(name) or not math.isfinite(value):
            return None
        param = self._by_name[name]
        if param.readonly:
            return None
        new_value = coerce(value, param.ptype)
        unchanged_default = new_value == param.value == param.default
        self.set_in_ram(name, new_value)
        echo = self.echo(name)
        if unchanged_default and param.ptype != TYPE_REAL32:
            return ParamEcho(echo.name, echo.value, TYPE_REAL32, echo.index, echo.count)
        return echo

    def set_in_ram(self, name: str, value: float) -> None:
        """Change a value without any echo (stream rates set by REQUEST_DATA_STREAM)."""
        param = self._by_name[name]
        param.value = coerce(value, param.ptype)
        self.version += 1

    def is_readonly(self, name: str) -> bool:
        return self._by_name[name].readonly if name in self._by_name else False
