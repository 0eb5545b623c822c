"""ED-269 parser: both wrappers, volumes, periods, schedules, errors, and the validated zones."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from uav.errors import FormatError, InputError
from uav.formats import detect_format, ed269, read_zone_file
from uav.geo.local import LocalFrame
from uav.zones.build import RawCircle, RawPolygon, ZoneFeature
from uav.zones.model import AltitudeRef, Circle, Restriction, Zone

DATA = Path(__file__).parent / "data" / "ed269"
BAD = Path(__file__).parent / "bad"
FEATURES = DATA / "guangzhou-features.json"
ZONE_LIST = DATA / "guangzhou-uaszonelist.json"
GEOD = Geod(ellps="WGS84")
FT = 0.3048
BEIJING = timezone(timedelta(hours=8))


def parse_file(path: Path) -> list[ZoneFeature]:
    return ed269.parse(path.read_bytes(), path)


def zone_named(zones: list[Zone], name: str) -> Zone:
    (zone,) = [z for z in zones if z.name == name]
    return zone


def polygon(zone: Zone) -> Polygon:
    assert isinstance(zone.geometry, Polygon)
    return zone.geometry


def active(zone: Zone, when: datetime) -> bool:
    return zone.schedule.is_active(when.timestamp())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# A minimal valid zone; tests change one field at a time.
def zone_dict(**changes: Any) -> dict[str, Any]:
    zone: dict[str, Any] = {
        "identifier": "GZ-T-001",
        "country": "CHN",
        "name": "Tower",
        "type": "COMMON",
        "restriction": "PROHIBITED",
        "reason": ["SENSITIVE"],
        "applicability": [{"permanent": "YES"}],
        "zoneAuthority": [{"name": "Guangzhou Public Security Bureau"}],
        "geometry": [
            {
                "uomDimensions": "M",
                "lowerLimit": 0,
                "lowerVerticalReference": "AGL",
                "upperLimit": 120,
                "upperVerticalReference": "AGL",
                "horizontalProjection": {
                    "type": "Circle",
                    "center": [113.3245, 23.1066],
                    "radius": 500,
                },
            }
        ],
    }
    zone.update(changes)
    return zone


def write_doc(tmp_path: Path, doc: Any, name: str = "zones.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    return path


def parse_zone(tmp_path: Path, **changes: Any) -> list[ZoneFeature]:
    return parse_file(write_doc(tmp_path, {"features": [zone_dict(**changes)]}))


def zone_error(tmp_path: Path, **changes: Any) -> FormatError:
    good = zone_dict(name="Baiyun", identifier="GZ-T-000")
    path = write_doc(tmp_path, {"features": [good, zone_dict(**changes)]})
    with pytest.raises(FormatError) as info:
        parse_file(path)
    err = info.value
    assert str(path) in str(err)
    assert err.where.feature_index == 1
    assert "feature 1" in str(err)
    return err


# --- the 'features' wrapper -------------------------------------------------------------------


def test_features_wrapper_as_parsed() -> None:
    feats = parse_file(FEATURES)
    assert [f.index for f in feats] == [0, 1, 2, 3, 3]
    assert [f.name for f in feats] == [
        "Baiyun Airport",
        "Canton Tower",
        "Tianhe Sports Center",
        "GZ-W-004 (volume 1)",  # no name: the identifier
        "GZ-W-004 (volume 2)",
    ]
    assert [f.restriction for f in feats] == [
        "prohibited",  # PROHIBITED
        "authorization",  # REQ_AUTHORISATION
        "authorization",  # CONDITIONAL, fail closed
        "warning",  # NO_RESTRICTION
        "warning",
    ]
    assert [f.line for f in feats] == [
        line_of(FEATURES, f'"identifier": "{i}"')
        for i in ("GZ-P-001", "GZ-R-002", "GZ-C-003", "GZ-W-004", "GZ-W-004")
    ]
    assert all(f.timezone == "UTC" for f in feats)

    baiyun, tower, tianhe, haixinsha_low, haixinsha_high = feats
    assert baiyun.reason == "AIR_TRAFFIC, SENSITIVE, ZGGG aerodrome"
    assert baiyun.authority == "CAAC Central and Southern Regional Administration"
    assert baiyun.message == "No UAS flights within 5 km of Baiyun airport"
    assert baiyun.shapes == [RawCircle(113.299, 23.392, 5000.0)]
    assert (baiyun.floor_m, baiyun.floor_ref) == (0.0, "agl")
    assert (baiyun.ceiling_m, baiyun.ceiling_ref) == (600.0, "amsl")
    assert (baiyun.start, baiyun.end, baiyun.daily) == (None, None, [])

    assert tower.authority == "Guangzhou Public Security Bureau"  # zoneAuthority as an object
    assert tower.ceiling_m == pytest.approx(1500 * FT) and tower.ceiling_ref == "amsl"
    assert tower.start == utc(2026, 1, 1) and tower.end == utc(2026, 12, 31, 23, 59, 59)
    assert tower.daily == ["Mon-Fri 00:00-10:00"]
    (ring,) = tower.shapes
    assert isinstance(ring, RawPolygon) and ring.explicit_close and len(ring.exterior) == 5

    assert tianhe.authority == "Tianhe District Sports Bureau; Guangzhou Public Security Bureau"
    assert tianhe.message == ("Conditions: Organiser permit on event days; At most 2 UAS at once")
    assert (tianhe.floor_ref, tianhe.ceiling_ref) == ("amsl", "amsl")  # WGS84 = AMSL
    assert tianhe.daily == ["Sat,Sun 10:00-14:00", "Mon,Wed 22:00-02:00"]
    (holed,) = tianhe.shapes
    assert isinstance(holed, RawPolygon) and len(holed.holes) == 1

    assert haixinsha_low.reason == "OTHER, Haixinsha island events"
    assert haixinsha_low.authority is None
    (low_circle,) = haixinsha_low.shapes
    assert isinstance(low_circle, RawCircle)
    assert (low_circle.x, low_circle.y) == (113.324, 23.115)
    assert low_circle.radius_m == pytest.approx(1000 * FT)
    assert haixinsha_low.ceiling_m == pytest.approx(400 * FT)
    assert not haixinsha_low.ceiling_unlimited
    assert haixinsha_high.floor_m == pytest.approx(400 * FT)
    assert haixinsha_high.ceiling_m is None and haixinsha_high.ceiling_unlimited


def test_features_wrapper_builds_valid_zones() -> None:
    zones = read_zone_file(FEATURES, fmt="ed269")
    assert len(zones) == 5
    assert {z.provenance.feature_index for z in zones} == {0, 1, 2, 3}

    baiyun = zone_named(zones, "Baiyun Airport")
    assert baiyun.restriction is Restriction.PROHIBITED
    assert baiyun.geometry == Circle(lon_deg=113.299, lat_deg=23.392, radius_m=5000.0)
    assert baiyun.band.ceiling_ref is AltitudeRef.AMSL
    assert baiyun.schedule.is_permanent

    tower = zone_named(zones, "Canton Tower")
    assert tower.restriction is Restriction.AUTHORIZATION
    assert tower.band.ceiling_m == pytest.approx(457.2)
    assert tower.band.floor_ref is AltitudeRef.AGL and tower.band.ceiling_ref is AltitudeRef.AMSL
    assert polygon(tower).contains(Point(113.3245, 23.1066))
    assert not polygon(tower).contains(Point(113.3240, 23.1150))  # Haixinsha, 900 m north
    # the 0.008 x 0.008 degree box, measured independently on the ellipsoid
    lons = [113.3205, 113.3285, 113.3285, 113.3205]
    lats = [23.1026, 23.1026, 23.1106, 23.1106]
    geod_area, _ = GEOD.polygon_area_perimeter(lons, lats)
    local_area = LocalFrame(113.3245, 23.1066).project(tower.geometry).area
    assert local_area == pytest.approx(abs(geod_area), rel=1e-3)
    # Mon-Fri 00:00-10:00 UTC (08:00-18:00 Beijing) during 2026
    assert active(tower, utc(2026, 3, 2, 5))  # Monday
    assert not active(tower, utc(2026, 3, 2, 11))  # Monday evening
    assert not active(tower, utc(2026, 3, 7, 5))  # Saturday
    assert not active(tower, utc(2027, 1, 4, 5))  # a Monday after the end
    assert not active(tower, utc(2025, 12, 29, 5))  # a Monday before the start

    tianhe = zone_named(zones, "Tianhe Sports Center")
    assert tianhe.restriction is Restriction.AUTHORIZATION
    assert tianhe.message is not None and "Conditions:" in tianhe.message
    assert polygon(tianhe).contains(Point(113.3240, 23.1345))  # the ring
    assert not polygon(tianhe).contains(Point(113.3270, 23.1375))  # the hole
    assert active(tianhe, utc(2026, 3, 7, 12))  # Saturday 12:00
    assert not active(tianhe, utc(2026, 3, 7, 15))
    assert active(tianhe, utc(2026, 3, 2, 23))  # Monday 23:00
    assert active(tianhe, utc(2026, 3, 3, 1, 30))  # ... past midnight into Tuesday
    assert not active(tianhe, utc(2026, 3, 3, 23))  # Tuesday night

    low = zone_named(zones, "GZ-W-004 (volume 1)")
    high = zone_named(zones, "GZ-W-004 (volume 2)")
    assert low.restriction is high.restriction is Restriction.WARNING
    assert isinstance(low.geometry, Circle) and low.geometry.radius_m == pytest.approx(304.8)
    assert high.band.floor_m == pytest.approx(121.92) and high.band.ceiling_m is None


# --- the 'UASZoneList' wrapper ----------------------------------------------------------------


def test_zone_list_wrapper_as_parsed() -> None:
    feats = parse_file(ZONE_LIST)
    assert [(f.index, f.name) for f in feats] == [
        (0, "Zhujiang New Town Events (period 1)"),
        (0, "Zhujiang New Town Events (period 2)"),
        (1, "Tianhe Sports Center Night Events"),
    ]
    first, second, night = feats
    assert first.start == datetime(2026, 10, 1, tzinfo=BEIJING)
    assert first.end == datetime(2026, 10, 8, tzinfo=BEIJING)
    assert first.daily == ["00:00-14:00"]  # ANY day, 08:00-22:00 +08:00 in UTC
    assert second.daily == [] and second.start == datetime(2026, 10, 15, tzinfo=BEIJING)
    assert first.shapes == second.shapes
    (circle,) = first.shapes
    assert isinstance(circle, RawCircle)
    assert (circle.x, circle.y) == (113.321, 23.119)
    assert circle.radius_m == pytest.approx(609.6)
    assert night.authority == "Tianhe District Sports Bureau"
    # Fri,Sat 19:00-24:00 Beijing = 11:00-16:00 UTC; Mon 06:00-09:00 Beijing = Sun 22:00-01:00 UTC
    assert night.daily == ["Fri,Sat 11:00-16:00", "Sun 22:00-01:00"]


def test_zone_list_wrapper_builds_valid_zones() -> None:
    zones = read_zone_file(ZONE_LIST)  # detected
    assert {z.provenance.source_format for z in zones} == {"ed269"}
    first = zone_named(zones, "Zhujiang New Town Events (period 1)")
    second = zone_named(zones, "Zhujiang New Town Events (period 2)")
    assert first.restriction is Restriction.PROHIBITED
    assert isinstance(first.geometry, Circle)
    assert first.geometry.radius_m == pytest.approx(609.6)
    assert first.band.ceiling_m == pytest.approx(121.92)
    assert active(first, datetime(2026, 10, 3, 10, tzinfo=BEIJING))
    assert not active(first, datetime(2026, 10, 3, 23, tzinfo=BEIJING))  # after 22:00 Beijing
    assert not active(first, datetime(2026, 10, 10, 10, tzinfo=BEIJING))  # between the periods
    assert not active(second, datetime(2026, 10, 10, 10, tzinfo=BEIJING))
    assert active(second, datetime(2026, 10, 20, 3, tzinfo=BEIJING))  # all day in period 2
    assert not active(second, datetime(2026, 11, 5, 1, tzinfo=BEIJING))

    night = zone_named(zones, "Tianhe Sports Center Night Events")
    assert night.restriction is Restriction.AUTHORIZATION
    assert active(night, datetime(2026, 10, 2, 20, tzinfo=BEIJING))  # Friday 20:00
    assert active(night, datetime(2026, 10, 3, 23, 59, tzinfo=BEIJING))  # Saturday 23:59
    assert not active(night, datetime(2026, 10, 4, 0, 30, tzinfo=BEIJING))  # Sunday 00:30
    assert active(night, datetime(2026, 10, 5, 7, tzinfo=BEIJING))  # Monday 07:00
    assert not active(night, datetime(2026, 10, 5, 10, tzinfo=BEIJING))
    assert not active(night, datetime(2026, 10, 6, 7, tzinfo=BEIJING))  # Tuesday 07:00


def test_bare_list_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([zone_dict()]).encode("utf-8"))
    (feat,) = parse_file(path)
    assert feat.name == "Tower" and feat.restriction == "prohibited"


def test_volumes_and_periods_multiply(tmp_path: Path) -> None:
    volume = zone_dict()["geometry"][0]
    periods = [
        {"permanent": "NO", "startDateTime": "2026-10-01T00:00:00Z"},
        {"permanent": "NO", "endDateTime": "2026-09-01T00:00:00Z"},
    ]
    feats = parse_zone(tmp_path, geometry=[volume, volume], applicability=periods)
    assert [f.name for f in feats] == [
        "Tower (volume 1, period 1)",
        "Tower (volume 1, period 2)",
        "Tower (volume 2, period 1)",
        "Tower (volume 2, period 2)",
    ]
    assert [f.start for f in feats] == [utc(2026, 10, 1), None] * 2
    assert [f.end for f in feats] == [None, utc(2026, 9, 1)] * 2
    assert {f.index for f in feats} == {0}


@pytest.mark.parametrize(
    ("entry", "window"),
    [
        ({"day": ["ANY"], "startTime": "08:00", "endTime": "18:00"}, "08:00-18:00"),
        ({"day": "SAT", "startTime": "08:00:00Z", "endTime": "18:00:00Z"}, "Sat 08:00-18:00"),
        ({"day": ["MON", "WED"], "startTime": "08:00", "endTime": "24:00"}, "Mon,Wed 08:00-00:00"),
        (
            {"day": ["SAT", "SUN", "MON"], "startTime": "22:00", "endTime": "06:00"},
            "Mon,Sat,Sun 22:00-06:00",
        ),
        (
            {"day": ["MON", "TUE", "WED", "FRI"], "startTime": "00:30", "endTime": "01:00"},
            "Mon-Wed,Fri 00:30-01:00",
        ),
        # 01:00 Beijing on Monday is 17:00 UTC on Sunday
        ({"day": ["MON"], "startTime": "01:00+08:00", "endTime": "05:00+08:00"}, "Sun 17:00-21:00"),
        # 23:00 at UTC-5 on Sunday is 04:00 UTC on Monday
        ({"day": ["SUN"], "startTime": "23:00-05:00", "endTime": "23:30-0500"}, "Mon 04:00-04:30"),
    ],
)
def test_schedule_windows(tmp_path: Path, entry: dict[str, Any], window: str) -> None:
    (feat,) = parse_zone(tmp_path, applicability={"permanent": "NO", "schedule": [entry]})
    assert feat.daily == [window]
    assert feat.timezone == "UTC"


def test_naive_instants_are_utc(tmp_path: Path) -> None:
    (feat,) = parse_zone(
        tmp_path,
        applicability=[{"startDateTime": "2026-10-01T08:00:00", "endDateTime": "2026-10-02"}],
    )
    assert feat.start == utc(2026, 10, 1, 8) and feat.end == utc(2026, 10, 2)


def test_missing_applicability_limits_and_restriction(tmp_path: Path) -> None:
    volume = {
        "uomDimensions": "M",
        "upperLimit": 90,
        "upperVerticalReference": "AGL",
        "horizontalProjection": {"type": "Circle", "center": [113.3245, 23.1066], "radius": 500},
    }
    zone = zone_dict(geometry=[volume])
    for key in ("applicability", "restriction", "name"):
        del zone[key]
    (feat,) = parse_file(write_doc(tmp_path, {"UASZoneList": [zone]}))
    assert feat.name == "GZ-T-001"
    assert feat.restriction is None  # the command line decides, or build_zones refuses
    assert (feat.start, feat.end, feat.daily) == (None, None, [])  # permanent
    assert feat.floor_m is None and feat.floor_ref is None
    assert feat.ceiling_m == 90.0 and not feat.ceiling_unlimited


# --- errors -----------------------------------------------------------------------------------


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "features": [\n    {"identifier": "X",}\n  ]\n}\n', "utf-8")
    with pytest.raises(FormatError) as info:
        parse_file(path)
    assert info.value.where.line == 3
    assert f"{path}, line 3: malformed JSON" in str(info.value)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{\n"features": [\n{"name": "Caf\xe9"}]}')
    with pytest.raises(FormatError, match="not UTF-8") as info:
        parse_file(path)
    assert info.value.where.line == 3


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"title": "nothing"}, "no 'features' list of zones (nor 'UASZoneList')"),
        ({"UASZoneList": {"features": []}}, "no 'UASZoneList' list of zones"),
        ({"features": [], "UASZoneList": []}, "both 'features' and 'UASZoneList'"),
        ("zones", "expected a JSON object"),
    ],
)
def test_document_errors(tmp_path: Path, doc: Any, needle: str) -> None:
    path = write_doc(tmp_path, doc)
    with pytest.raises(FormatError) as info:
        parse_file(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def _volume(**changes: Any) -> list[dict[str, Any]]:
    volume = dict(zone_dict()["geometry"][0])
    volume.update(changes)
    return [volume]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"restriction": "FORBIDDEN"}, "unknown restriction 'FORBIDDEN'"),
        ({"restriction": ["PROHIBITED"]}, "unknown restriction"),
        ({"geometry": []}, "no geometry"),
        ({"geometry": None}, "no geometry"),
        ({"geometry": _volume(uomDimensions="KM")}, "volume 1: unknown uomDimensions 'KM'"),
        ({"geometry": _volume(uomDimensions=None)}, "unknown uomDimensions None"),
        ({"geometry": _volume(upperLimit="120")}, "upperLimit must be a number"),
        ({"geometry": _volume(lowerVerticalReference="QNH")}, "unknown lowerVerticalReference"),
        ({"geometry": _volume(horizontalProjection=None)}, "no horizontalProjection"),
        (
            {"geometry": _volume(horizontalProjection={"type": "Point", "coordinates": [1, 2]})},
            "unknown horizontalProjection type 'Point'",
        ),
        (
            {"geometry": _volume(horizontalProjection={"type": "Circle", "center": [113.3]})},
            "circle center: position [113.3] is not [lon, lat]",
        ),
        (
            {"geometry": _volume(horizontalProjection={"type": "Circle", "center": [1, 2]})},
            "circle radius must be a number, not None",
        ),
        (
            {"geometry": _volume(horizontalProjection={"type": "Polygon", "coordinates": []})},
            "polygon coordinates must be a list of rings",
        ),
        (
            {
                "geometry": _volume(
                    horizontalProjection={"type": "Polygon", "coordinates": [[[1, 2], ["a", 3]]]}
                )
            },
            "polygon ring 0 must be a number",
        ),
        ({"applicability": "always"}, "applicability must be an object or a list"),
        ({"applicability": [{"permanent": "MAYBE"}]}, "permanent must be YES or NO"),
        (
            {"applicability": [{"permanent": "YES", "endDateTime": "2026-10-01T00:00:00Z"}]},
            "permanent YES contradicts",
        ),
        ({"applicability": [{"permanent": "NO"}]}, "permanent NO but no startDateTime"),
        (
            {"applicability": [{"startDateTime": "1 Oct 2026"}]},
            "applicability 1: cannot read startDateTime '1 Oct 2026'",
        ),
        (
            {"applicability": [{"schedule": [{"day": ["MON"], "startTime": "8am"}]}]},
            "schedule entry 1: cannot read startTime '8am'",
        ),
        (
            {"applicability": [{"schedule": [{"day": ["MON"], "startTime": "08:00"}]}]},
            "cannot read endTime None",
        ),
        (
            {"applicability": [{"schedule": [{"day": ["MONDAY"], "startTime": "08:00"}]}]},
            "unknown day 'MONDAY'",
        ),
        (
            {"applicability": [{"schedule": [{"startTime": "08:00", "endTime": "09:00"}]}]},
            "day must be a list",
        ),
        (
            {"applicability": [{"schedule": [{"day": "ANY", "startTime": "25:00"}]}]},
            "no such time of day",
        ),
        (
            {"applicability": [{"schedule": [{"day": "ANY", "startTime": "24:00"}]}]},
            "no such time of day",
        ),
        (
            {"applicability": [{"schedule": [{"day": "ANY", "startTime": "08:00:30"}]}]},
            "seconds are not supported",
        ),
        ({"zoneAuthority": "Police"}, "zoneAuthority must be an object or a list"),
        ({"reason": [1, 2]}, "reason must be text or a list of texts"),
        ({"message": 5}, "message must be text"),
    ],
)
def test_zone_errors_name_the_feature(tmp_path: Path, changes: dict[str, Any], needle: str) -> None:
    err = zone_error(tmp_path, **changes)
    assert needle in str(err)
    assert err.where.feature_name == "Tower"
    assert "feature 1 ('Tower')" in str(err)


def test_zone_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_doc(tmp_path, {"features": [zone_dict(), "Tower"]})
    with pytest.raises(FormatError, match="a zone must be a JSON object") as info:
        parse_file(path)
    assert info.value.where.feature_index == 1


def test_empty_zone_list_is_refused_by_build_zones(tmp_path: Path) -> None:
    path = write_doc(tmp_path, {"UASZoneList": []})
    assert parse_file(path) == []
    with pytest.raises(InputError, match="holds no zone"):
        read_zone_file(path)


# --- detection and the bad-input corpus -------------------------------------------------------


def test_detect_format_picks_ed269(tmp_path: Path) -> None:
    for path in (FEATURES, ZONE_LIST):
        assert detect_format(path.read_bytes(), path) == "ed269"
    with_bom = tmp_path / "bom.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + FEATURES.read_bytes())
    assert detect_format(with_bom.read_bytes(), with_bom) == "ed269"
    assert len(read_zone_file(with_bom)) == 5


def expect_file(path: Path) -> Path:
    """The sidecar holding a substring the error message must contain."""
    return path.with_name(path.name + ".expect")


BAD_FILES = sorted(BAD.glob("ed269-*.json"))


def test_bad_corpus_is_present() -> None:
    names = {p.stem for p in BAD_FILES}
    assert {
        "ed269-unknown-restriction",
        "ed269-malformed-json",
        "ed269-floor-above-ceiling",
        "ed269-end-before-start",
    } <= names
    for p in BAD_FILES:
        assert expect_file(p).is_file(), p


@pytest.mark.parametrize("fmt", ["ed269", "auto"])
@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_corpus_messages(path: Path, fmt: str) -> None:
    expect = expect_file(path).read_text("utf-8").strip()
    assert expect and "\n" not in expect
    with pytest.raises(InputError) as info:
        read_zone_file(path, fmt=fmt)
    assert expect in str(info.value)
    assert str(path) in str(info.value)


def test_circle_radius_converts_with_the_volume_unit(tmp_path: Path) -> None:
    proj = {"type": "Circle", "center": [113.3245, 23.1066], "radius": 1640}
    (feat,) = parse_zone(tmp_path, geometry=_volume(uomDimensions="FT", horizontalProjection=proj))
    (circle,) = feat.shapes
    assert isinstance(circle, RawCircle)
    assert circle.radius_m == pytest.approx(1640 * FT)
    assert feat.ceiling_m == pytest.approx(120 * FT)
    assert math.isclose(circle.x, 113.3245) and math.isclose(circle.y, 23.1066)
