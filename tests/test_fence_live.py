"""`uav fence push|show|clear` against emulated vehicles: what is read back equals what was
sent, the drone enforces it, --dry-run sends nothing, refusals leave the drone's fence as it
was (exit 1), clear turns the fence off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Polygon

from tests.conftest import Invoke
from tests.fleet_support import offset, register, said, write_parm, write_plan
from tests.sim_plugin import VehicleFactory
from uav.store import Store
from uav.zones.model import Circle, Restriction, VerticalBand, Zone

SPEEDUP = 20.0


def box(name: str, north_m: tuple[float, float], east_m: tuple[float, float], **kw: Any) -> Zone:
    """A rectangular zone, north/east metres from the emulated home."""
    corners = [
        offset(n, e)
        for n, e in [
            (north_m[0], east_m[0]),
            (north_m[0], east_m[1]),
            (north_m[1], east_m[1]),
            (north_m[1], east_m[0]),
        ]
    ]
    polygon = Polygon([(lon, lat) for lat, lon in corners])
    return Zone(name, kw.pop("restriction", Restriction.PROHIBITED), polygon, **kw)


def circle(name: str, north_m: float, east_m: float, radius_m: float) -> Zone:
    lat, lon = offset(north_m, east_m)
    return Zone(name, Restriction.PROHIBITED, Circle(lon, lat, radius_m))


def add_zones(db: Path, *zones: Zone) -> None:
    Store.open(db).add_zones(zones)


def show(uav: Invoke) -> dict[str, Any]:
    r = uav("fence", "show", "TH-01", "--json")
    assert r.exit_code == 0, r.stderr
    return dict(json.loads(r.stdout))


def shapes(fence: dict[str, Any]) -> tuple[Any, Any]:
    return fence["polygons"], fence["circles"]


@pytest.mark.sitl
def test_push_reads_back_as_sent_and_the_drone_enforces_it(
    uav: Invoke, vehicles: VehicleFactory, db: Path, tmp_path: Path
) -> None:
    parm = write_parm(tmp_path / "nodelay.parm", DISARM_DELAY=0)
    (v,) = vehicles(1, speedup=SPEEDUP, params=[parm], ready=True)
    register(uav, v)
    add_zones(
        db,
        box("NFZ-N", (60.0, 100.0), (-25.0, 25.0)),
        circle("NFZ-SE", -60.0, 80.0, 20.0),
        box("WARN", (-40.0, -30.0), (-40.0, -30.0), restriction=Restriction.WARNING),
    )
    r = uav("fence", "push", "TH-01", "--json")
    assert r.exit_code == 0, r.stderr
    sent = json.loads(r.stdout)
    assert sent["pushed"] is True
    assert "TH-01: fence uploaded and verified (5 item(s), 51 of 560 bytes)" in said(r.stderr)
    roles = {z["name"]: z["role"] for z in sent["zones"]}
    assert roles == {"NFZ-N": "exclusion", "NFZ-SE": "exclusion", "WARN": "left-out"}
    (polygon,) = sent["fence"]["polygons"]
    assert polygon["kind"] == "exclusion" and polygon["vertices"] == 4

    held = show(uav)
    assert shapes(held["fence"]) == shapes(sent["fence"])
    assert held["fence"]["bytes"] == 51 and held["bytes_max"] == 560
    params = held["params"]
    assert params["FENCE_ENABLE"] == 1 and params["FENCE_TYPE"] == 7
    assert params["FENCE_RADIUS"] == 1000 and params["FENCE_ALT_MAX"] == 120
    assert params["FENCE_ACTION"] == 1 and params["FENCE_MARGIN"] == 2
    assert params["FENCE_TOTAL"] > 0

    for args in (("mode", "TH-01", "GUIDED"), ("arm", "TH-01"), ("takeoff", "TH-01", "10")):
        r = uav("fleet", *args)
        assert r.exit_code == 0, (args, r.stderr)
    # straight at NFZ-N: past uav's own zone check (--no-check) to see the onboard fence act
    r = uav("fleet", "goto", "TH-01", *offset(130.0, 0.0), 10, "--no-check")
    assert r.exit_code == 1, r.stderr
    assert "Polygon fence breached" in said(r.stderr)
    r = uav("fleet", "status", "TH-01", "--json", "--timeout", "3")
    (state,) = json.loads(r.stdout)
    assert state["mode"] == "RTL" and state["fence_enabled"] is True


@pytest.mark.sitl
def test_dry_run_refusals_monitor_and_clear(
    uav: Invoke, vehicles: VehicleFactory, db: Path, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    register(uav, v)
    add_zones(db, box("NFZ-N", (60.0, 100.0), (-25.0, 25.0)))
    empty = show(uav)
    assert empty["fence"]["items"] == 0 and empty["params"]["FENCE_ENABLE"] == 0

    r = uav("fence", "push", "TH-01", "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    planned = json.loads(r.stdout)
    assert planned["pushed"] is False and planned["fence"]["items"] == 4
    assert "TH-01: dry run (4 item(s), 38 of 560 bytes): nothing was sent" in said(r.stderr)
    assert show(uav) == empty

    # nothing within a 40 m circle: no items, only the circle and the ceiling
    r = uav("fence", "push", "TH-01", "--radius", "40")
    assert r.exit_code == 0, r.stderr
    small = show(uav)
    assert small["fence"]["items"] == 0
    assert small["params"]["FENCE_ENABLE"] == 1 and small["params"]["FENCE_TYPE"] == 3
    assert small["params"]["FENCE_RADIUS"] == 40

    r = uav("fence", "push", "TH-01", "--max-points", "20", "--action", "land")
    assert r.exit_code == 0, r.stderr
    assert "exclusion polygon: 4 vertices" in r.stdout
    first = show(uav)
    assert first["fence"]["items"] == 4 and first["params"]["FENCE_ACTION"] == 2

    # home inside an exclusion: refused, the drone keeps the fence it had
    add_zones(db, circle("HOME-NFZ", 0.0, 0.0, 30.0))
    r = uav("fence", "push", "TH-01")
    assert r.exit_code == 1, r.stderr
    text = said(r.stderr)
    assert "refused: TH-01: fence not pushed:" in text
    assert "home (the RTL point) is inside an exclusion circle" in text
    assert show(uav) == first

    # a zone from 30 m up that does not cover the fenced circle needs the monitor
    store = Store.open(db)
    (home_zone,) = [z for z in store.zones() if z.name == "HOME-NFZ"]
    assert home_zone.id is not None
    store.remove_zones([home_zone.id])
    add_zones(db, box("HIGH", (-100.0, -60.0), (-20.0, 20.0), band=VerticalBand(floor_m=30.0)))
    r = uav("fence", "push", "TH-01")
    assert r.exit_code == 1
    assert "'HIGH': starts 30 m above home" in said(r.stderr)
    assert "push with --monitored" in said(r.stderr)
    r = uav("fence", "push", "TH-01", "--monitored")
    assert r.exit_code == 0, r.stderr
    assert "only the monitor enforces: HIGH" in said(r.stderr)
    assert show(uav)["fence"]["items"] == 4

    # the drone's mission crosses a zone added after the mission was checked and uploaded
    plan = write_plan(tmp_path / "east.plan", [(0.0, 150.0, 15.0)])
    r = uav("plan", "upload", plan, "--drone", "TH-01")
    assert r.exit_code == 0, r.stderr
    add_zones(db, box("NFZ-E", (-10.0, 10.0), (70.0, 90.0)))
    r = uav("fence", "push", "TH-01", "--monitored")
    assert r.exit_code == 1
    assert "mission leg 1→2 crosses an exclusion polygon" in said(r.stderr)
    r = uav("fence", "push", "TH-01", "--monitored", "--radius", "100")
    assert r.exit_code == 1
    assert "mission leg 1→2 leaves the 100 m fence circle" in said(r.stderr)
    assert show(uav)["fence"]["items"] == 4

    r = uav("fence", "clear", "TH-01")
    assert r.exit_code == 0, r.stderr
    assert "TH-01: fence items cleared and FENCE_ENABLE set to 0" in said(r.stderr)
    cleared = show(uav)
    assert cleared["fence"]["items"] == 0 and cleared["params"]["FENCE_ENABLE"] == 0


@pytest.mark.sitl
def test_a_fence_that_reads_back_differently_is_an_error_naming_it(
    uav: Invoke, vehicles: VehicleFactory, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-back compare at the link edge finds a difference (stood in: a vehicle that
    stores a vertex elsewhere), and then a parameter that did not take: exit 2 each time,
    the difference said, FENCE_ENABLE never turned on over a fence that is not the one sent."""
    import uav.fence.push as push
    from uav.link.errors import MissionMismatch

    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    register(uav, v)
    add_zones(db, circle("NFZ-SE", -60.0, 80.0, 20.0))

    def stored_elsewhere(*_args: Any, **_kw: Any) -> None:
        raise MissionMismatch(push.FENCE, "item 1: x 231236000 where 231236100 was uploaded")

    with monkeypatch.context() as m:
        m.setattr(push, "verify", stored_elsewhere)
        r = uav("fence", "push", "TH-01")
    assert r.exit_code == 2, r.stderr
    assert "item 1: x 231236000 where 231236100 was uploaded" in said(r.stderr)
    assert "check it with `fence show`" in said(r.stderr)
    assert show(uav)["params"]["FENCE_ENABLE"] == 0  # never enabled

    real_get = push.get_params

    def one_did_not_take(link: Any, names: Any) -> dict[str, float]:
        read = dict(real_get(link, names))
        read["FENCE_MARGIN"] = read["FENCE_MARGIN"] + 1.0
        return read

    with monkeypatch.context() as m:
        m.setattr(push, "get_params", one_did_not_take)
        r = uav("fence", "push", "TH-01")
    assert r.exit_code == 2, r.stderr
    assert "parameters read back wrong: FENCE_MARGIN is" in said(r.stderr)
