"""`uav fleet goto` and `takeoff` check the leg they fly against the zones: into a zone is
refused (exit 1, nothing sent), out of one is allowed, --no-check flies anyway."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import HOME_AMSL, HOME_LAT, HOME_LON, offset, register, said, write_parm
from tests.sim_plugin import VehicleFactory
from tests.test_fleet_commands import status
from uav.errors import CheckUncertain
from uav.fleet.errors import MoveRefused
from uav.fleet.movecheck import check_goto, check_takeoff
from uav.link.state import Home, VehicleState
from uav.store import Store
from uav.zones.model import Circle, Restriction, VerticalBand, Zone

SPEEDUP = 20.0


def circle(
    name: str,
    north_m: float,
    east_m: float,
    radius_m: float,
    restriction: Restriction = Restriction.PROHIBITED,
    band: VerticalBand | None = None,
) -> Zone:
    lat, lon = offset(north_m, east_m)
    return Zone(name, restriction, Circle(lon, lat, radius_m), band=band or VerticalBand())


def drone_at(north_m: float, east_m: float, alt_m: float) -> VehicleState:
    lat, lon = offset(north_m, east_m)
    return replace(
        VehicleState(),
        lat_deg=lat,
        lon_deg=lon,
        alt_rel_m=alt_m,
        alt_amsl_m=alt_m + HOME_AMSL,
        home=Home(HOME_LAT, HOME_LON, HOME_AMSL),
    )


@pytest.fixture
def store(db: Path) -> Store:
    s = Store.open(db)
    s.add_zones(
        [
            circle("NFZ north", 300.0, 0.0, 50.0),
            circle("High band east", 0.0, 300.0, 60.0, band=VerticalBand(floor_m=40.0)),
        ]
    )
    return s


def test_a_goto_into_a_zone_is_refused(store: Store) -> None:
    north = offset(300.0, 0.0)
    with pytest.raises(MoveRefused, match="NFZ north") as refused:
        check_goto(store, "TH-01", drone_at(0, 0, 30), *north, 30.0)
    assert "goto refused by the zone check" in str(refused.value)
    through = offset(600.0, 0.0)  # beyond it: the leg crosses it
    with pytest.raises(MoveRefused, match="NFZ north"):
        check_goto(store, "TH-01", drone_at(0, 0, 30), *through, 30.0)
    aside = offset(300.0, 200.0)
    check_goto(store, "TH-01", drone_at(0, 0, 30), *aside, 30.0)  # clear: nothing raised


def test_a_goto_out_of_a_zone_is_allowed_but_not_back_in(store: Store) -> None:
    inside = drone_at(300.0, 10.0, 30.0)
    check_goto(store, "TH-01", inside, *offset(100.0, 0.0), 30.0)  # leaving: allowed
    with pytest.raises(MoveRefused, match="NFZ north"):  # staying inside: the target is in it
        check_goto(store, "TH-01", inside, *offset(310.0, 0.0), 30.0)


def test_bands_count_for_goto_and_takeoff(store: Store) -> None:
    east = offset(0.0, 300.0)
    check_goto(store, "TH-01", drone_at(0, 0, 30), *east, 30.0)  # under the 40 m floor
    with pytest.raises(MoveRefused, match="High band east"):
        check_goto(store, "TH-01", drone_at(0, 0, 30), *east, 50.0)
    check_takeoff(store, "TH-01", drone_at(0.0, 300.0, 0.0), 30.0)  # stays under the floor
    with pytest.raises(MoveRefused, match=r"take-off refused.*High band east"):
        check_takeoff(store, "TH-01", drone_at(0.0, 300.0, 0.0), 60.0)
    with pytest.raises(MoveRefused, match="NFZ north"):  # taking off inside a zone enters it
        check_takeoff(store, "TH-01", drone_at(300.0, 0.0, 0.0), 10.0)


def test_a_drone_without_a_position_cannot_be_checked(store: Store) -> None:
    unknown = replace(drone_at(0, 0, 30), lat_deg=None)
    with pytest.raises(CheckUncertain, match="position is unknown"):
        check_goto(store, "TH-01", unknown, *offset(10.0, 0.0), 30.0)
    with pytest.raises(CheckUncertain, match="position is unknown"):
        check_takeoff(store, "TH-01", unknown, 10.0)


def test_a_grant_lets_the_drone_in(store: Store) -> None:
    from datetime import timedelta

    from uav.auth.model import Grant
    from uav.timeutil import now_utc

    store.add_zones([circle("Stadium", -300.0, 0.0, 50.0, restriction=Restriction.AUTHORIZATION)])
    zone_id = next(z.id for z in store.zones() if z.name == "Stadium")
    assert zone_id is not None
    target = offset(-300.0, 0.0)
    with pytest.raises(MoveRefused, match="holds no grant"):
        check_goto(store, "TH-01", drone_at(0, 0, 30), *target, 30.0)
    now = now_utc()
    hour = timedelta(hours=1)
    store.add_grant(Grant(zone_id, "TH-01", now - hour, now + hour, granted_by="duty officer"))
    check_goto(store, "TH-01", drone_at(0, 0, 30), *target, 30.0)


@pytest.mark.sitl
def test_goto_into_a_zone_is_exit_1_and_the_drone_stays(
    uav: Invoke, vehicles: VehicleFactory, tmp_path: Path, db: Path
) -> None:
    parm = write_parm(tmp_path / "nodelay.parm", DISARM_DELAY=0)
    (v,) = vehicles(1, speedup=SPEEDUP, params=[parm], ready=True)
    register(uav, v)
    Store.open(db).add_zones([circle("NFZ north", 60.0, 0.0, 20.0)])
    for args in (("mode", "TH-01", "GUIDED"), ("arm", "TH-01"), ("takeoff", "TH-01", "10")):
        r = uav("fleet", *args)
        assert r.exit_code == 0, (args, r.stderr)
    lat, lon = offset(100.0, 0.0)  # beyond the zone: the leg crosses it
    r = uav("fleet", "goto", "TH-01", lat, lon, 10)
    assert r.exit_code == 1, r.stderr
    assert "refused: TH-01: goto refused by the zone check (1 violation(s))" in said(r.stderr)
    assert "NFZ north" in said(r.stderr) and "nothing was sent" in said(r.stderr)
    assert status(uav, "TH-01")["lat_deg"] == pytest.approx(HOME_LAT, abs=3e-5)  # it stayed
    r = uav("fleet", "goto", "TH-01", lat, lon, 10, "--no-check")
    assert r.exit_code == 0, r.stderr
    assert "not checked against the zones (--no-check)" in said(r.stderr)
    assert "TH-01: arrived" in r.stderr
