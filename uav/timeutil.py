"""Time parsing and conversion. All instants inside uav are timezone-aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from uav.errors import InputError


def now_utc() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str, *, default_tz: str | None = None) -> datetime:
    """Parse an ISO-8601 instant (or ``now``) into an aware datetime.

    A time without an offset is read in ``default_tz`` (an IANA name) when given, else in the
    machine's local time zone.
    """
    s = text.strip()
    if s.lower() == "now":
        return now_utc()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise InputError(
            f"cannot read time {text!r}: use ISO 8601, e.g. 2026-11-24T14:00+08:00"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=get_tz(default_tz)) if default_tz else dt.astimezone()
    return dt


def get_tz(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}") from None


def to_epoch(dt: datetime) -> float:
    return dt.timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def parse_duration_s(text: str) -> float:
    """'90', '90s', '15m', '2h' -> seconds."""
    s = text.strip().lower()
    mult = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        if s and s[-1] in mult:
            return float(s[:-1]) * mult[s[-1]]
        return float(s)
    except ValueError:
        raise InputError(f"cannot read duration {text!r}: use e.g. 90s, 15m, 2h") from None


__all__ = [
    "from_epoch",
    "get_tz",
    "iso",
    "now_utc",
    "parse_duration_s",
    "parse_instant",
    "timedelta",
    "to_epoch",
]
