"""`uav plan upload` and `uav plan download` against emulated vehicles: checked before
anything is sent, verified after, a lost item sent again, a violating plan refused with the
`plan check` report while the drone keeps its mission, and a round trip through a .plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import (
    drop_first_item,
    lossy_relay,
    register,
    said,
    write_plan,
    write_zone,
)
from tests.sim_plugin import VehicleFactory
from uav.plans.model import FlightPlan
from uav.plans.readers import read_plan

SPEEDUP = 20.0
CLEAR_ROUTE = [(20.0, 0.0, 10.0), (20.0, 20.0, 15.0)]


def flown(plan: FlightPlan) -> list[tuple[int, float, float, float]]:
    """What a plan makes the drone do: command, position (1e-6 deg), altitude."""
    return [
        (i.command, round(i.lat_deg, 6), round(i.lon_deg, 6), round(i.alt_m, 2)) for i in plan.items
    ]


def download(uav: Invoke, tmp_path: Path, name: str = "TH-01") -> FlightPlan:
    out = tmp_path / f"{name}-download.plan"
    r = uav("plan", "download", "--drone", name, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert f"{name}: {len(read_plan(out).items)} mission item(s) written to {out}" in r.stderr
    return read_plan(out)


@pytest.mark.sitl
@pytest.mark.slow
def test_check_upload_verify_refuse_and_download(
    uav: Invoke, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    register(uav, v)
    clear = write_plan(tmp_path / "clear.plan", CLEAR_ROUTE)

    # a plan made for another home: refused, nothing sent
    doc = json.loads(clear.read_text())
    doc["mission"]["plannedHomePosition"][0] += 0.01  # 1.1 km north
    elsewhere = tmp_path / "elsewhere.plan"
    elsewhere.write_text(json.dumps(doc))
    r = uav("plan", "upload", elsewhere, "--drone", "TH-01")
    assert r.exit_code == 2
    assert "TH-01: its home" in said(r.stderr) and "nothing was sent" in said(r.stderr)
    r = uav("plan", "download", "--drone", "TH-01")
    assert r.exit_code == 2 and "TH-01: the drone holds no mission" in said(r.stderr)

    # a clear plan: uploaded, verified, and it reads back the same
    r = uav("plan", "upload", clear, "--drone", "TH-01")
    assert r.exit_code == 0, r.stderr
    assert "clear.plan: CLEAR, 0 warning(s)" in r.stdout  # the report plan check gives
    assert "━" not in r.stderr  # no progress bar frames when stderr is not a terminal
    assert "TH-01: 4 mission item(s) uploaded and verified" in said(r.stderr)
    assert "its home is 0 m from the plan's" in said(r.stderr)
    back = download(uav, tmp_path)
    assert flown(back) == flown(read_plan(clear))
    assert (back.home_lat_deg, back.home_lon_deg) == pytest.approx((23.1291, 113.324), abs=1e-6)
    assert back.home_amsl_m == pytest.approx(20.1, abs=0.01)
    r = uav("plan", "download", "--drone", "TH-01")  # no -o: the .plan on stdout
    assert r.exit_code == 0 and len(json.loads(r.stdout)["mission"]["items"]) == 4

    # a plan through a no-fly zone: the plan check's report, exit 1, the old mission stays
    zone = write_zone(tmp_path / "nfz.geojson", "Stadium TFR", 80.0, 0.0, 15.0)
    assert uav("zones", "load", zone).exit_code == 0
    bad = write_plan(tmp_path / "through-nfz.plan", [(120.0, 0.0, 10.0)])
    r = uav("plan", "upload", bad, "--drone", "TH-01")
    assert r.exit_code == 1, r.stderr
    check = uav("plan", "check", bad, "--drone", "TH-01")
    assert check.exit_code == 1 and r.stdout == check.stdout  # the same report
    assert "through-nfz.plan: NOT CLEAR" in r.stdout
    assert "refused: TH-01: the plan is not clear" in said(r.stderr)
    assert "nothing was sent" in said(r.stderr) and "mission upload" not in r.stderr
    assert flown(download(uav, tmp_path)) == flown(read_plan(clear))
    r = uav("plan", "upload", bad, "--drone", "TH-01", "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["clear"] is False
    assert {f["rule"] for f in report["violations"]} == {"enters-zone"}

    # an authorization zone: refused without a grant, uploaded with the drone's grant
    zone = write_zone(tmp_path / "auth.geojson", "Park", 40.0, -40.0, 10.0, "authorization")
    zone_id = json.loads(uav("zones", "load", zone, "--json").stdout)[0]["id"]
    park = write_plan(tmp_path / "park.plan", [(40.0, -40.0, 10.0)])  # in the zone
    assert uav("plan", "upload", park, "--drone", "TH-01").exit_code == 1
    r = uav(
        "auth",
        "grant",
        "--zone",
        zone_id,
        "--drone",
        "TH-01",
        "--start",
        "2000-01-01T00:00Z",
        "--end",
        "2100-01-01T00:00Z",
        "--by",
        "Officer Chen",
    )
    assert r.exit_code == 0, r.stderr
    r = uav("plan", "upload", park, "--drone", "TH-01")
    assert r.exit_code == 0, r.stderr
    assert flown(download(uav, tmp_path)) == flown(read_plan(park))


@pytest.mark.sitl
def test_a_lost_mission_item_is_sent_again(
    uav: Invoke, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    plan = write_plan(tmp_path / "clear.plan", CLEAR_ROUTE)
    with lossy_relay(v.url, drop_first_item(2)) as radio:
        register(uav, v, url=radio.url)
        r = uav("plan", "upload", plan, "--drone", "TH-01")
        assert r.exit_code == 0, r.stderr
        assert "uploaded and verified" in r.stderr
    assert len(radio.dropped) == 1  # item 2 was lost once ...
    assert radio.passed_items.count(2) >= 1  # ... and sent again when the drone re-asked
    assert set(radio.passed_items) == {0, 1, 2, 3, 4}
    assert uav("fleet", "remove", "TH-01").exit_code == 0
    register(uav, v)  # straight to the drone this time
    assert flown(download(uav, tmp_path)) == flown(read_plan(plan))


def test_bad_files_and_drones_are_exit_2(uav: Invoke, tmp_path: Path) -> None:
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    r = uav("plan", "upload", tmp_path / "missing.plan", "--drone", "TH-01")
    assert r.exit_code == 2 and "missing.plan" in r.stderr
    plan = write_plan(tmp_path / "clear.plan", CLEAR_ROUTE)
    r = uav("plan", "upload", plan, "--drone", "TH-01")
    assert r.exit_code == 2 and "TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
    r = uav("plan", "download", "--drone", "TH-09", "-o", tmp_path / "x.plan")
    assert r.exit_code == 2 and "no drone named 'TH-09'" in r.stderr
    assert not (tmp_path / "x.plan").exists()
