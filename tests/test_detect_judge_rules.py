"""Judge: severity rules, 3-D band and time, altitude frames, fleet and permits, manned."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.detect_support import (
    LAT0,
    LON0,
    T0,
    Permit,
    at,
    band,
    circle,
    det,
    square,
    stub_permit_for,
    window,
)
from uav.check.index import ZoneIndex
from uav.detect.judge import FleetIds, Judge
from uav.detect.model import AltFrame, Category, Detection, Judgement, SensorKind, Severity
from uav.geo.local import LocalFrame
from uav.store.drones import Drone
from uav.zones.model import AltitudeRef, Restriction, VerticalBand

P, A, W = Restriction.PROHIBITED, Restriction.AUTHORIZATION, Restriction.WARNING

ZONES = [
    square(1, P, south_m=0, west_m=0, size_m=200),
    square(2, A, south_m=0, west_m=400, size_m=200),
    square(3, W, south_m=0, west_m=800, size_m=200),
    square(4, P, south_m=1000, west_m=0, size_m=200, band=band(30, 120)),
    # ground to 100 m AMSL, e.g. under an approach surface
    square(
        5,
        P,
        south_m=1000,
        west_m=400,
        size_m=200,
        band=VerticalBand(0.0, AltitudeRef.AGL, 100.0, AltitudeRef.AMSL),
    ),
    square(6, P, south_m=2000, west_m=0, size_m=200, schedule=window(T0 + 100, T0 + 200)),
    circle(7, P, 3000, 100, 100.0),
    square(8, W, south_m=0, west_m=100, size_m=50),  # overlaps zone 1
]


def judge(*dets: Detection, **kw: object) -> list[Judgement]:
    j = Judge(ZoneIndex(ZONES), **kw)  # type: ignore[arg-type]
    return j.judge(dets, [f"t{i}" for i in range(len(dets))])


def one(d: Detection, **kw: object) -> Judgement:
    return judge(d, **kw)[0]


def test_inside_prohibited_is_high() -> None:
    j = one(det(100, 20))
    assert (j.severity, j.zone_id, j.zone_ids, j.clearance_m) == (Severity.HIGH, 1, (1,), 0.0)
    assert j.zone_name == "zone 1" and not j.authorised and j.category is Category.DRONE


def test_inside_authorization_without_permit_is_high() -> None:
    j = one(det(100, 500))
    assert (j.severity, j.zone_id) == (Severity.HIGH, 2)


def test_inside_warning_is_medium() -> None:
    j = one(det(100, 900))
    assert (j.severity, j.zone_id, j.zone_ids) == (Severity.MEDIUM, 3, (3,))


def test_within_buffer_of_prohibited_is_medium_with_clearance() -> None:
    j = one(det(100, -10), buffer_m=20.0)
    assert (j.severity, j.zone_id, j.zone_ids) == (Severity.MEDIUM, 1, ())
    assert j.clearance_m == pytest.approx(10.0, abs=0.3)


def test_beyond_buffer_is_low() -> None:
    j = one(det(100, -30), buffer_m=20.0)
    assert (j.severity, j.zone_id, j.zone_ids, j.clearance_m) == (Severity.LOW, None, (), None)


def test_near_a_warning_zone_is_low() -> None:
    assert one(det(100, 1010), buffer_m=20.0).severity is Severity.LOW


def test_position_error_widens_the_buffer() -> None:
    assert one(det(100, -40), buffer_m=20.0).severity is Severity.LOW
    assert one(det(100, -40, position_error_m=25.0), buffer_m=20.0).severity is Severity.MEDIUM


def test_the_boundary_counts_as_inside() -> None:
    geom = ZONES[0].geometry
    assert isinstance(geom, shapely.Polygon)
    min_lon, min_lat, _, _ = geom.bounds
    d = det(None, None, lat_deg=min_lat + 0.0005, lon_deg=min_lon)  # on the west edge
    assert one(d).severity is Severity.HIGH


def test_overlapping_zones_prohibited_sets_severity_all_listed() -> None:
    j = one(det(20, 120))
    assert (j.severity, j.zone_id, j.zone_ids) == (Severity.HIGH, 1, (1, 8))


@pytest.mark.parametrize(
    ("alt_m", "severity"),
    [(20.0, Severity.LOW), (30.0, Severity.HIGH), (120.0, Severity.HIGH), (121.0, Severity.LOW)],
)
def test_band_floor_and_ceiling_inclusive(alt_m: float, severity: Severity) -> None:
    assert one(det(1100, 100, alt_m=alt_m)).severity is severity


def test_below_the_band_is_not_in_its_buffer_either() -> None:
    assert one(det(1100, -10, alt_m=10.0)).severity is Severity.LOW


def test_no_altitude_is_judged_inside_and_flagged() -> None:
    j = one(det(1100, 100, alt_m=None, frame=None))
    assert j.severity is Severity.HIGH and j.flags == ("no-altitude",)


def test_amsl_against_agl_band_without_ground_fails_closed_and_flags() -> None:
    j = one(det(1100, 100, alt_m=5.0, frame=AltFrame.AMSL))
    assert j.severity is Severity.HIGH and j.flags == ("altitude-frame-assumed",)


def test_amsl_against_agl_band_with_ground_height() -> None:
    below = one(det(1100, 100, alt_m=45.0, frame=AltFrame.AMSL), ground_amsl_m=20.0)
    inside = one(det(1100, 100, alt_m=60.0, frame=AltFrame.AMSL), ground_amsl_m=20.0)
    assert (below.severity, below.flags) == (Severity.LOW, ())
    assert (inside.severity, inside.flags) == (Severity.HIGH, ())


def test_above_ground_against_amsl_ceiling_needs_ground_height() -> None:
    assumed = one(det(1100, 500, alt_m=90.0, frame=AltFrame.ABOVE_GROUND))
    assert assumed.severity is Severity.HIGH and assumed.flags == ("altitude-frame-assumed",)
    above = one(det(1100, 500, alt_m=90.0, frame=AltFrame.ABOVE_GROUND), ground_amsl_m=20.0)
    assert above.severity is Severity.LOW  # 110 m AMSL, over the 100 m ceiling


def test_pressure_altitude_is_amsl_with_uncertainty() -> None:
    amsl = one(det(1100, 500, alt_m=150.0, frame=AltFrame.AMSL))
    assert amsl.severity is Severity.LOW
    pressure = one(det(1100, 500, alt_m=150.0, frame=AltFrame.PRESSURE))
    assert pressure.severity is Severity.HIGH and pressure.flags == ("pressure-altitude",)
    higher = one(det(1100, 500, alt_m=170.0, frame=AltFrame.PRESSURE))
    assert higher.severity is Severity.LOW
    tight = one(det(1100, 500, alt_m=150.0, frame=AltFrame.PRESSURE), pressure_uncertainty_m=0.0)
    assert tight.severity is Severity.LOW


@pytest.mark.parametrize(
    ("t", "severity"),
    [(50.0, Severity.LOW), (100.0, Severity.HIGH), (200.0, Severity.HIGH), (201.0, Severity.LOW)],
)
def test_zone_active_only_in_its_schedule(t: float, severity: Severity) -> None:
    assert one(det(2100, 100, t=t)).severity is severity


def test_schedule_across_batches_far_apart_in_time() -> None:
    j = Judge(ZoneIndex(ZONES))
    early = j.judge([det(2100, 100, t=150.0)], ["a"])[0]
    late = j.judge([det(2100, 100, t=90_000.0)], ["a"])[0]
    again = j.judge([det(2100, 100, t=150.0)], ["a"])[0]
    assert [early.severity, late.severity, again.severity] == [
        Severity.HIGH,
        Severity.LOW,
        Severity.HIGH,
    ]


@pytest.mark.parametrize(
    ("north_m", "severity"),
    [(3095.0, Severity.HIGH), (3110.0, Severity.MEDIUM), (3125.0, Severity.LOW)],
)
def test_circle_zone(north_m: float, severity: Severity) -> None:
    j = one(det(north_m, 100), buffer_m=20.0)
    assert j.severity is severity
    if severity is Severity.MEDIUM:
        assert j.clearance_m == pytest.approx(10.0, abs=0.3)


def test_fleet_drone_by_remote_id_is_authorised_and_low_but_placed() -> None:
    fleet = FleetIds.from_drones([Drone("TH-01", "tcp:127.0.0.1:5760", remote_id="RID-1")])
    j = one(det(100, 20), fleet=fleet)
    assert (j.authorised, j.authorised_by, j.severity) == (True, "fleet:TH-01", Severity.LOW)
    assert j.zone_ids == (1,) and j.zone_id is None


def test_fleet_by_serial_and_by_icao() -> None:
    fleet = FleetIds.from_drones(
        [Drone("TH-01", "tcp:127.0.0.1:5760", serial="SER-9")], icao={"abc123": "TH-01"}
    )
    assert one(det(100, 20, remote_id="SER-9"), fleet=fleet).authorised_by == "fleet:TH-01"
    by_icao = det(100, 20, remote_id=None, icao="ABC123", kind=SensorKind.ADSB, emitter_type=14)
    assert one(by_icao, fleet=fleet).authorised_by == "fleet:TH-01"


def test_fleet_sysid_only_for_its_own_remote_id() -> None:
    fleet = FleetIds.from_drones([Drone("TH-02", "tcp:127.0.0.1:5770", sysid=7)])
    own = det(100, 20, remote_id=None, mavlink_sysid=7, sensor_id="TH-02")
    relayed_adsb = det(
        100, 20, remote_id=None, icao="000001", kind=SensorKind.ADSB, emitter_type=14,
        mavlink_sysid=7, sensor_id="TH-02",
    )  # fmt: skip
    other_link = det(100, 20, remote_id=None, mavlink_sysid=7, sensor_id="receiver-3")
    assert one(own, fleet=fleet).authorised_by == "fleet:TH-02"
    assert one(relayed_adsb, fleet=fleet).severity is Severity.HIGH
    assert one(other_link, fleet=fleet).severity is Severity.HIGH


def test_permit_authorises_in_its_zone_only() -> None:
    permits = [Permit(5, "RID-P", zone_id=2)]
    kw = {"permits": permits, "permit_for": stub_permit_for}
    in_zone = one(det(100, 500, remote_id="RID-P"), **kw)
    assert (in_zone.authorised, in_zone.authorised_by, in_zone.severity) == (
        True,
        "permit:5",
        Severity.LOW,
    )
    elsewhere = one(det(100, 20, remote_id="RID-P"), **kw)
    assert (elsewhere.authorised, elsewhere.severity) == (False, Severity.HIGH)
    stranger = one(det(100, 500, remote_id="RID-X"), **kw)
    assert stranger.severity is Severity.HIGH


def test_manned_aircraft_kept_apart() -> None:
    manned = det(100, 20, remote_id=None, icao="780ABC", kind=SensorKind.ADSB, emitter_type=1)
    j = one(manned)
    assert (j.category, j.severity, j.zone_ids, j.zone_id) == (
        Category.MANNED,
        Severity.LOW,
        (),
        None,
    )


def test_unknown_category_is_judged_as_a_drone() -> None:
    unknown = det(100, 20, remote_id=None, icao="780ABD", kind=SensorKind.ADSB)
    j = one(unknown)
    assert (j.category, j.severity) == (Category.UNKNOWN, Severity.HIGH)


def test_manned_above_takes_high_unknown_adsb_targets_as_manned_and_nothing_else() -> None:
    def adsb(alt_m: float | None, **kw: object) -> Detection:
        return det(100, 20, remote_id=None, icao="780ABE", kind=SensorKind.ADSB, alt_m=alt_m,
                   frame=AltFrame.PRESSURE, **kw)  # fmt: skip

    airliner, low_flyer, no_alt = adsb(900.0), adsb(50.0), adsb(None)
    drone_400 = adsb(400.0, emitter_type=14)  # says it is a UAV: stays a drone
    rid_400 = det(100, 20, remote_id="RID-9", alt_m=400.0, frame=AltFrame.AMSL)
    got = judge(airliner, low_flyer, no_alt, drone_400, rid_400, manned_above_m=300.0)
    assert [j.category for j in got] == [
        Category.MANNED,
        Category.UNKNOWN,
        Category.UNKNOWN,
        Category.DRONE,
        Category.DRONE,
    ]
    assert got[0].severity is Severity.LOW and got[0].zone_ids == ()
    # off by default: the same airliner is an unknown, judged as a drone (fail closed)
    assert one(airliner).category is Category.UNKNOWN


def test_no_position_is_low_and_flagged() -> None:
    j = one(det(None, None))
    assert (j.severity, j.flags) == (Severity.LOW, ("no-position",))


def test_track_ids_must_match() -> None:
    with pytest.raises(ValueError):
        Judge(ZoneIndex(ZONES)).judge([det(0, 0)], [])


def test_empty_index_and_empty_batch() -> None:
    j = Judge(ZoneIndex([]))
    assert j.judge([], []) == []
    assert j.judge([det(100, 20)], ["a"])[0].severity is Severity.LOW


def test_batch_equals_one_by_one_and_a_naive_reference() -> None:
    """Random points around the zones: the vectorised batch gives the same as judging each
    detection alone, and the same as a naive per-point shapely check in AEQD metres."""
    rng = np.random.default_rng(7)
    north = rng.uniform(-100, 1300, 600)
    east = rng.uniform(-100, 1100, 600)
    alts = rng.choice([10.0, 50.0, 130.0], 600)
    dets = [det(n, e, alt_m=a) for n, e, a in zip(north, east, alts, strict=True)]
    j = Judge(ZoneIndex(ZONES), buffer_m=20.0)
    batch = j.judge(dets, ["x"] * len(dets))
    alone = [j.judge([d], ["x"])[0] for d in dets]
    assert batch == alone
    mismatches = [
        (d, got)
        for d, got in zip(dets, batch, strict=True)
        if (ref := naive_severity(d, 20.0)) is not None and ref != got.severity
    ]
    assert not mismatches
    assert {b.severity for b in batch} == {Severity.LOW, Severity.MEDIUM, Severity.HIGH}


def naive_severity(d: Detection, buffer_m: float) -> Severity | None:
    """Polygon zones 1-5 and 8 (permanent), checked one by one; None within 0.5 m of an
    edge or the buffer's edge (where rounding may go either way)."""
    assert d.lat_deg is not None and d.lon_deg is not None and d.alt_m is not None
    frame = LocalFrame(d.lon_deg, d.lat_deg)
    best = Severity.LOW
    for z in ZONES:
        if z.id not in (1, 2, 3, 4, 5, 8):
            continue
        in_band = z.band.floor_m <= d.alt_m and (
            z.band.ceiling_m is None or d.alt_m <= z.band.ceiling_m or z.id == 5
        )
        if not in_band:
            continue
        local = frame.project(z.geometry)
        dist = float(shapely.distance(local, shapely.Point(0.0, 0.0)))
        edge = float(shapely.distance(local.exterior, shapely.Point(0.0, 0.0)))
        if edge < 0.5 or abs(dist - buffer_m) < 0.5:
            return None
        high = z.restriction in (P, A)
        if dist == 0.0:
            best = Severity.HIGH if high else max(best, Severity.MEDIUM, key=lambda s: s.rank)
        elif high and dist <= buffer_m:
            best = max(best, Severity.MEDIUM, key=lambda s: s.rank)
    return best


def test_origin_helpers_are_consistent() -> None:
    lat, lon = at(0, 0)
    assert (lat, lon) == pytest.approx((LAT0, LON0))


def test_real_permits_through_the_permit_index() -> None:
    from uav.detect.permits import Permit as RealPermit
    from uav.timeutil import from_epoch

    permit = RealPermit(
        start=from_epoch(T0 - 60), end=from_epoch(T0 + 60), remote_id="RID-P", zone_id=2, id=9
    )
    assert one(det(100, 500, remote_id="RID-P"), permits=[permit]).authorised_by == "permit:9"
    assert one(det(100, 20, remote_id="RID-P"), permits=[permit]).severity is Severity.HIGH
    late = one(det(100, 500, remote_id="RID-P", t=61), permits=[permit])
    assert (late.authorised, late.severity) == (False, Severity.HIGH)
