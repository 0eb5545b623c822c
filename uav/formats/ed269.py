"""EUROCAE ED-269 UAS geographical zone files (JSON).

Wrappers accepted: ``{"title": ..., "features": [zone, ...]}`` (InterUSS, several national
publications), ``{"UASZoneList": [zone, ...]}`` (e.g. with ``formatVersion``/``createdAt``) and
a bare list of zones.

Mapping of a zone's fields:

=========================  ===================================================================
``name``                   zone name; without one, ``identifier``
``restriction``            ``PROHIBITED`` -> prohibited; ``REQ_AUTHORISATION`` -> authorization;
                           ``CONDITIONAL`` -> authorization (fail closed: the conditions are text
                           a machine cannot check, so an officer's grant is required);
                           ``NO_RESTRICTION`` -> warning; absent -> the command line decides
``restrictionConditions``  appended to the message as "Conditions: ..."
``reason``                 the reasons joined by ", ", then ``otherReasonInfo``
``message``                message
``zoneAuthority``          the ``name`` of each authority (an object or a list), joined by "; "
``geometry``               a list of volumes; each becomes its own zone (see below)
``applicability``          a list of periods (or one object); each becomes its own zone
=========================  ===================================================================

A volume: ``uomDimensions`` ``M`` or ``FT`` (converted to metres, ft × 0.3048) applies to the
limits and to a circle's radius; ``lowerLimit``/``upperLimit`` with ``lowerVerticalReference``/
``upperVerticalReference`` ``AGL`` or ``AMSL``; ``WGS84`` (height above the ellipsoid) is taken
as AMSL, the same frame as GPS altitudes in uav. A missing ``upperLimit`` means unlimited; a
missing ``lowerLimit`` means the file did not say (the command line's floor, else the ground).
``horizontalProjection`` is ``{"type": "Polygon", "coordinates": [[[lon, lat], ...], ...]}``
(closed rings, holes after the exterior) or ``{"type": "Circle", "center": [lon, lat],
"radius": r}``.

A period: ``permanent`` ``YES`` (no dates or schedule allowed with it) or ``NO`` with
``startDateTime``/``endDateTime`` (ISO 8601; without an offset, UTC) and/or ``schedule``
entries ``{"day": ["MON".."SUN" | "ANY"], "startTime": "08:00", "endTime": "18:00"}``.
ED-269 clock times are UTC; a time written with an offset (``08:00+08:00``) is converted to
UTC, shifting its days when it crosses midnight. Daily windows are handed on as strings such
as ``"Mon-Fri 08:00-18:00"`` with time zone ``UTC``; an ``endTime`` of ``24:00`` is midnight.
No ``applicability`` at all means permanent.

A zone with several volumes or periods becomes one feature per (volume, period), all with the
zone's index, named "<name> (volume 2)", "<name> (period 2)" or "<name> (volume 2, period 3)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uav.errors import FormatError, Location
from uav.formats.jsontext import load_json
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature
from uav.zones.model import WEEKDAY_NAMES

FT_TO_M = 0.3048

RESTRICTIONS = {
    "PROHIBITED": "prohibited",
    "REQ_AUTHORISATION": "authorization",
    "REQ_AUTHORIZATION": "authorization",
    "CONDITIONAL": "authorization",
    "NO_RESTRICTION": "warning",
}
VERTICAL_REFS = {"AGL": "agl", "AMSL": "amsl", "WGS84": "amsl"}
UOM_TO_M = {"M": 1.0, "FT": FT_TO_M}
DAYS = {"MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6, "SUN": 7}
MINUTES_PER_DAY = 24 * 60

_IDENTIFIER_RE = re.compile(rb'"identifier"\s*:')
_CLOCK_RE = re.compile(
    r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$", re.IGNORECASE
)


@dataclass(frozen=True)
class Volume:
    """One geometry volume as read: its shape and vertical limits (metres)."""

    shape: RawPolygon | RawCircle
    floor_m: float | None
    floor_ref: str | None
    ceiling_m: float | None
    ceiling_ref: str | None


@dataclass(frozen=True)
class Period:
    """One applicability period: open or closed dates, daily windows in UTC."""

    start: datetime | None = None
    end: datetime | None = None
    daily: tuple[str, ...] = ()


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    """Read an ED-269 file into zone features (raises FormatError naming the feature)."""
    zones = _zone_list(load_json(data, path), path)
    lines = _zone_lines(data, len(zones))
    features: list[ZoneFeature] = []
    for index, zone in enumerate(zones):
        features.extend(_zone_features(zone, index, path, lines[index]))
    return features


def _zone_list(doc: Any, path: Path) -> list[Any]:
    where = Location(file=path)
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise FormatError("not an ED-269 document (expected a JSON object)", where)
    if "features" in doc and "UASZoneList" in doc:
        raise FormatError("both 'features' and 'UASZoneList': which zones are meant?", where)
    key = "UASZoneList" if "UASZoneList" in doc else "features"
    zones = doc.get(key)
    if not isinstance(zones, list):
        raise FormatError(
            f"not an ED-269 document: no '{key}' list of zones"
            + ("" if key in doc else " (nor 'UASZoneList')"),
            where,
        )
    return zones


def _zone_lines(data: bytes, count: int) -> list[int | None]:
    """The line of each zone's ``"identifier"`` member, when there is exactly one per zone."""
    starts = [m.start() for m in _IDENTIFIER_RE.finditer(data)]
    if len(starts) != count:
        return [None] * count
    return [data.count(b"\n", 0, s) + 1 for s in starts]


def _zone_features(zone: Any, index: int, path: Path, line: int | None) -> list[ZoneFeature]:
    where = Location(file=path, feature_index=index, line=line)
    if not isinstance(zone, dict):
        raise FormatError("a zone must be a JSON object", where)
    name = _text(zone, "name", where) or _text(zone, "identifier", where)
    where.feature_name = name
    restriction = _restriction(zone.get("restriction"), where)
    reason = _reason(zone, where)
    authority = _authority(zone.get("zoneAuthority"), where)
    message = _message(zone, where)
    volumes = _volumes(zone.get("geometry"), where)
    periods = _periods(zone.get("applicability"), where)
    features: list[ZoneFeature] = []
    several_v, several_p = len(volumes) > 1, len(periods) > 1
    for v, volume in enumerate(volumes, start=1):
        for p, period in enumerate(periods, start=1):
            features.append(
                ZoneFeature(
                    index=index,
                    shapes=[volume.shape],
                    name=_part_name(name, v if several_v else 0, p if several_p else 0),
                    line=line,
                    restriction=restriction,
                    floor_m=volume.floor_m,
                    floor_ref=volume.floor_ref,
                    ceiling_m=volume.ceiling_m,
                    ceiling_ref=volume.ceiling_ref,
                    ceiling_unlimited=volume.ceiling_m is None,
                    start=period.start,
                    end=period.end,
                    daily=list(period.daily),
                    timezone="UTC",
                    reason=reason,
                    authority=authority,
                    message=message,
                )
            )
    return features


def _part_name(name: str | None, volume: int, period: int) -> str | None:
    parts = ([f"volume {volume}"] if volume else []) + ([f"period {period}"] if period else [])
    if not parts or name is None:
        return name
    return f"{name} ({', '.join(parts)})"


def _text(obj: dict[str, Any], key: str, where: Location, what: str = "") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{what}{key} must be text, not {type(value).__name__}", where)
    return value.strip() or None


def _restriction(value: Any, where: Location) -> str | None:
    if value is None:
        return None
    key = value.strip().upper() if isinstance(value, str) else None
    if key not in RESTRICTIONS:
        raise FormatError(
            f"unknown restriction {value!r} "
            "(use PROHIBITED, REQ_AUTHORISATION, CONDITIONAL or NO_RESTRICTION)",
            where,
        )
    return RESTRICTIONS[str(key)]


def _text_list(value: Any, what: str, where: Location) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise FormatError(f"{what} must be text or a list of texts", where)
    return [i.strip() for i in items if i.strip()]


def _reason(zone: dict[str, Any], where: Location) -> str | None:
    reasons = _text_list(zone.get("reason"), "reason", where)
    other = _text(zone, "otherReasonInfo", where)
    text = ", ".join(reasons + ([other] if other else []))
    return text or None


def _message(zone: dict[str, Any], where: Location) -> str | None:
    message = _text(zone, "message", where)
    conditions = _text_list(zone.get("restrictionConditions"), "restrictionConditions", where)
    if conditions:
        cond = "Conditions: " + "; ".join(conditions)
        message = f"{message} {cond}" if message else cond
    return message


def _authority(value: Any, where: Location) -> str | None:
    if value is None:
        return None
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FormatError("zoneAuthority must be an object or a list of objects", where)
    names = [n for i in items if (n := _text(i, "name", where, "zoneAuthority "))]
    return "; ".join(names) or None


def _volumes(value: Any, where: Location) -> list[Volume]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FormatError("no geometry: 'geometry' must be a non-empty list of volumes", where)
    return [_volume(v, f"volume {k}", where) for k, v in enumerate(value, start=1)]


def _volume(vol: Any, label: str, where: Location) -> Volume:
    if not isinstance(vol, dict):
        raise FormatError(f"{label} must be a JSON object", where)
    uom = vol.get("uomDimensions")
    scale = UOM_TO_M.get(uom.strip().upper()) if isinstance(uom, str) else None
    needs_uom = any(vol.get(k) is not None for k in ("lowerLimit", "upperLimit"))
    projection = vol.get("horizontalProjection")
    if isinstance(projection, dict) and str(projection.get("type", "")).lower() == "circle":
        needs_uom = True
    if scale is None and (uom is not None or needs_uom):
        raise FormatError(f"{label}: unknown uomDimensions {uom!r} (use M or FT)", where)
    floor_m = _limit(vol, "lowerLimit", scale, label, where)
    ceiling_m = _limit(vol, "upperLimit", scale, label, where)
    return Volume(
        shape=_projection(projection, scale or 1.0, label, where),
        floor_m=floor_m,
        floor_ref=_vertical_ref(vol, "lowerVerticalReference", label, where),
        ceiling_m=ceiling_m,
        ceiling_ref=_vertical_ref(vol, "upperVerticalReference", label, where),
    )


def _number(value: Any, what: str, where: Location) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"{what} must be a number, not {value!r}", where)
    return float(value)


def _limit(
    vol: dict[str, Any], key: str, scale: float | None, label: str, where: Location
) -> float | None:
    value = vol.get(key)
    if value is None:
        return None
    return _number(value, f"{label}: {key}", where) * (scale or 1.0)


def _vertical_ref(vol: dict[str, Any], key: str, label: str, where: Location) -> str | None:
    value = vol.get(key)
    if value is None:
        return None
    ref = VERTICAL_REFS.get(value.strip().upper()) if isinstance(value, str) else None
    if ref is None:
        raise FormatError(f"{label}: unknown {key} {value!r} (use AGL, AMSL or WGS84)", where)
    return ref


def _projection(proj: Any, scale: float, label: str, where: Location) -> RawPolygon | RawCircle:
    if not isinstance(proj, dict):
        raise FormatError(f"{label}: no horizontalProjection object", where)
    kind = str(proj.get("type", "")).lower()
    if kind == "circle":
        lon, lat = _position(proj.get("center"), f"{label}: circle center", where)
        radius = _number(proj.get("radius"), f"{label}: circle radius", where)
        return RawCircle(x=lon, y=lat, radius_m=radius * scale)
    if kind == "polygon":
        rings = proj.get("coordinates")
        if not isinstance(rings, list) or not rings:
            raise FormatError(f"{label}: polygon coordinates must be a list of rings", where)
        read = [_ring(r, f"{label}: polygon ring {k}", where) for k, r in enumerate(rings)]
        return RawPolygon(exterior=read[0], holes=read[1:], explicit_close=True)
    raise FormatError(
        f"{label}: unknown horizontalProjection type {proj.get('type')!r} (use Polygon or Circle)",
        where,
    )


def _ring(ring: Any, what: str, where: Location) -> list[Point2]:
    if not isinstance(ring, list):
        raise FormatError(f"{what} must be a list of [lon, lat] positions", where)
    return [_position(p, what, where) for p in ring]


def _position(value: Any, what: str, where: Location) -> Point2:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise FormatError(f"{what}: position {value!r} is not [lon, lat]", where)
    return (_number(value[0], what, where), _number(value[1], what, where))


def _periods(value: Any, where: Location) -> list[Period]:
    if value is None:
        return [Period()]
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FormatError("applicability must be an object or a list of objects", where)
    if not items:
        return [Period()]
    return [_period(p, f"applicability {k}", where) for k, p in enumerate(items, start=1)]


def _period(item: dict[str, Any], label: str, where: Location) -> Period:
    given = item.get("permanent")
    permanent = given.strip().upper() if isinstance(given, str) else given
    if permanent is not None and permanent not in ("YES", "NO"):
        raise FormatError(f"{label}: permanent must be YES or NO, not {given!r}", where)
    start = _instant(item.get("startDateTime"), f"{label}: ", "startDateTime", where)
    end = _instant(item.get("endDateTime"), f"{label}: ", "endDateTime", where)
    schedule = item.get("schedule")
    if schedule is None:
        schedule = []
    if not isinstance(schedule, list):
        raise FormatError(f"{label}: schedule must be a list", where)
    daily = tuple(
        _daily(entry, f"{label}: schedule entry {k}", where)
        for k, entry in enumerate(schedule, start=1)
    )
    timed = start is not None or end is not None or bool(daily)
    if permanent == "YES" and timed:
        raise FormatError(
            f"{label}: permanent YES contradicts its startDateTime/endDateTime/schedule", where
        )
    if permanent == "NO" and not timed:
        raise FormatError(
            f"{label}: permanent NO but no startDateTime, endDateTime or schedule", where
        )
    return Period(start=start, end=end, daily=daily)


def _instant(value: Any, prefix: str, key: str, where: Location) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{prefix}cannot read {key} {value!r} (ISO 8601 expected)", where)
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(
            f"{prefix}cannot read {key} {value!r} (e.g. 2026-05-01T08:00:00Z)", where
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _daily(entry: Any, label: str, where: Location) -> str:
    if not isinstance(entry, dict):
        raise FormatError(f"{label} must be a JSON object", where)
    days = _days(entry.get("day"), label, where)
    start_min = _clock(entry.get("startTime"), f"{label}: ", "startTime", where, end=False)
    end_min = _clock(entry.get("endTime"), f"{label}: ", "endTime", where, end=True)
    shift = start_min // MINUTES_PER_DAY
    if days:
        days = frozenset((d - 1 + shift) % 7 + 1 for d in days)
    span = f"{_hhmm(start_min)}-{_hhmm(end_min)}"
    return f"{_day_text(days)} {span}" if days else span


def _days(value: Any, label: str, where: Location) -> frozenset[int]:
    """ISO weekday numbers; empty for ANY (every day)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise FormatError(f"{label}: day must be a list of MON..SUN or ANY", where)
    out: set[int] = set()
    for item in items:
        key = item.strip().upper() if isinstance(item, str) else ""
        if key == "ANY":
            return frozenset()
        if key not in DAYS:
            raise FormatError(f"{label}: unknown day {item!r} (use MON..SUN or ANY)", where)
        out.add(DAYS[key])
    return frozenset(out)


def _clock(value: Any, prefix: str, key: str, where: Location, *, end: bool) -> int:
    """'08:00', '08:00:00Z', '08:00+08:00' -> minutes after UTC midnight (may leave 0..1439)."""
    match = _CLOCK_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise FormatError(f"{prefix}cannot read {key} {value!r} (e.g. 08:00 or 08:00:00Z)", where)
    hh, mm, ss, _z, sign, oh, om = match.groups()
    hours, minutes, seconds = int(hh), int(mm), int(ss or 0)
    if hours == 24 and minutes == 0 and seconds == 0 and end:
        hours = 0
    if hours > 23 or minutes > 59 or seconds > 59:
        raise FormatError(f"{prefix}cannot read {key} {value!r}: no such time of day", where)
    if seconds:
        raise FormatError(
            f"{prefix}{key} {value!r}: seconds are not supported in daily windows", where
        )
    offset = 0 if sign is None else (int(oh) * 60 + int(om)) * (1 if sign == "+" else -1)
    utc = hours * 60 + minutes - offset
    return utc if not end else utc % MINUTES_PER_DAY


def _hhmm(minutes: int) -> str:
    m = minutes % MINUTES_PER_DAY
    return f"{m // 60:02d}:{m % 60:02d}"


def _day_text(days: frozenset[int]) -> str:
    """{1,2,3,4,5} -> 'Mon-Fri'; {1,3} -> 'Mon,Wed'; runs of three or more become ranges."""
    ordered = sorted(days)
    runs: list[list[int]] = []
    for d in ordered:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0] - 1]}-{WEEKDAY_NAMES[run[-1] - 1]}")
        else:
            parts.extend(WEEKDAY_NAMES[d - 1] for d in run)
    return ",".join(parts)
