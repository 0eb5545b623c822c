"""Schedules, daily windows and altitude references of the zone model."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from uav.zones.model import AltitudeRef, Circle, DailyWindow, Schedule, parse_weekdays

SH = ZoneInfo("Asia/Shanghai")


def ts(*args: int, tz: ZoneInfo = SH) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[misc]


def test_daily_window_parse_with_days() -> None:
    w = DailyWindow.parse("Mon-Fri 08:00-20:00")
    assert w.start == time(8) and w.end == time(20)
    assert w.weekdays == frozenset({1, 2, 3, 4, 5})
    assert w.describe() == "Mon,Tue,Wed,Thu,Fri 08:00-20:00"
    assert DailyWindow.parse(w.describe()) == w


def test_weekdays_wrap_around() -> None:
    assert parse_weekdays("Fri-Mon") == frozenset({5, 6, 7, 1})


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="daily window"):
        DailyWindow.parse("8 to 20")


def test_schedule_start_end_bracket() -> None:
    s = Schedule(
        start=datetime(2026, 12, 5, 17, tzinfo=SH), end=datetime(2026, 12, 5, 23, tzinfo=SH)
    )
    assert not s.is_active(ts(2026, 12, 5, 16, 59))
    assert s.is_active(ts(2026, 12, 5, 17, 0))
    assert s.is_active(ts(2026, 12, 5, 22, 59))
    assert not s.is_active(ts(2026, 12, 5, 23, 1))


def test_daily_window_in_its_time_zone() -> None:
    s = Schedule(daily=(DailyWindow.parse("18:00-23:00"),), timezone="Asia/Shanghai")
    assert s.is_active(ts(2026, 11, 24, 19, 0))
    assert not s.is_active(ts(2026, 11, 24, 12, 0))
    # 19:00 in Shanghai is 11:00 UTC
    assert s.is_active(datetime(2026, 11, 24, 11, 0, tzinfo=UTC).timestamp())


def test_window_past_midnight_and_weekday_of_its_start() -> None:
    s = Schedule(daily=(DailyWindow.parse("Sat 22:00-02:00"),), timezone="Asia/Shanghai")
    # 2026-11-28 is a Saturday
    assert s.is_active(ts(2026, 11, 28, 23, 0))
    assert s.is_active(ts(2026, 11, 29, 1, 30))  # Sunday early morning: Saturday's window
    assert not s.is_active(ts(2026, 11, 29, 23, 0))  # Sunday night: no window


def test_active_intervals_clip_to_the_query() -> None:
    s = Schedule(daily=(DailyWindow.parse("18:00-23:00"),), timezone="Asia/Shanghai")
    spans = s.active_intervals(ts(2026, 11, 24, 17, 0), ts(2026, 11, 25, 19, 0))
    assert spans == [
        (ts(2026, 11, 24, 18, 0), ts(2026, 11, 24, 23, 0)),
        (ts(2026, 11, 25, 18, 0), ts(2026, 11, 25, 19, 0)),
    ]


def test_altitude_ref_aliases() -> None:
    assert AltitudeRef.parse("MSL") is AltitudeRef.AMSL
    assert AltitudeRef.parse("above-takeoff") is AltitudeRef.AGL
    with pytest.raises(ValueError, match="altitude reference"):
        AltitudeRef.parse("fl")


def test_circle_bounds_contain_the_circle() -> None:
    from pyproj import Geod

    c = Circle(113.2988, 23.3924, 5000.0)
    x0, y0, x1, y1 = c.bounds
    geod = Geod(ellps="WGS84")
    for az in range(0, 360, 15):
        lon, lat, _ = geod.fwd(c.lon_deg, c.lat_deg, az, c.radius_m)
        assert x0 <= lon <= x1 and y0 <= lat <= y1
