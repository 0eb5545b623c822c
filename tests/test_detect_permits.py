"""Permits: the matching rule, the store (each change chained), and ``uav permits``."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely.geometry import Point, box

from tests.conftest import DATA, Invoke, db_snapshot
from tests.detect_evidence_support import T0_S, detection
from uav.detect.model import Detection
from uav.detect.permits import Permit, PermitIndex, circle_polygon, permit_for, read_area
from uav.detect.verify import verify_evidence
from uav.errors import InputError
from uav.store import Store
from uav.zones import Circle

START = datetime.fromtimestamp(T0_S - 60, UTC)
END = datetime.fromtimestamp(T0_S + 3600, UTC)


def rid_detection(remote_id: str | None, t_s: float = T0_S, **kw: object) -> Detection:
    return replace(detection(0), time_s=t_s, remote_id=remote_id, icao_address=None, **kw)


def test_matches_by_remote_id_or_icao_within_the_window() -> None:
    by_rid = Permit(START, END, remote_id="SN-1", id=1)
    by_icao = Permit(START, END, icao_address="A00000", id=2)
    assert permit_for(rid_detection("SN-1"), [by_rid, by_icao], ()) is by_rid
    assert permit_for(rid_detection("SN-2"), [by_rid], ()) is None
    assert permit_for(detection(0), [by_rid, by_icao], ()) is by_icao  # icao A00000
    assert permit_for(rid_detection("SN-1", T0_S - 61), [by_rid], ()) is None
    assert permit_for(rid_detection("SN-1", T0_S + 3600), [by_rid], ()) is by_rid  # inclusive
    assert permit_for(rid_detection("SN-1", T0_S + 3601), [by_rid], ()) is None


def test_zone_and_area_restrict_where() -> None:
    in_zone = Permit(START, END, remote_id="SN-1", zone_id=7, id=1)
    assert permit_for(rid_detection("SN-1"), [in_zone], (3, 7)) is in_zone
    assert permit_for(rid_detection("SN-1"), [in_zone], (3,)) is None
    d = rid_detection("SN-1")
    assert d.lon_deg is not None and d.lat_deg is not None
    around = box(d.lon_deg - 0.01, d.lat_deg - 0.01, d.lon_deg + 0.01, d.lat_deg + 0.01)
    elsewhere = box(d.lon_deg + 1, d.lat_deg, d.lon_deg + 2, d.lat_deg + 1)
    inside = Permit(START, END, remote_id="SN-1", area=around, id=2)
    outside = Permit(START, END, remote_id="SN-1", area=elsewhere, id=3)
    assert permit_for(d, [outside, inside], ()) is inside
    assert permit_for(d, [outside], ()) is None
    # no position: an area permit cannot hold (fail closed)
    assert permit_for(replace(d, lat_deg=None, lon_deg=None), [inside], ()) is None


def test_revoked_permits_never_match_and_the_index_agrees() -> None:
    live = Permit(START, END, remote_id="SN-1", id=1)
    revoked = Permit(START, END, icao_address="A00000", id=2, revoked_at=START)
    d = replace(detection(0), remote_id="SN-1")
    assert permit_for(detection(0), [revoked], ()) is None
    index = PermitIndex([revoked, live])
    assert len(index) == 1
    assert index.permit_for(d, ()) is live
    assert index.permit_for(detection(0), ()) is None
    assert index.permit_for(replace(d, remote_id=None, icao_address=None), ()) is None


@pytest.mark.parametrize(
    ("permit", "message"),
    [
        (Permit(START, END), "--remote-id or --icao"),
        (Permit(END, START, remote_id="x"), "not after start"),
        (Permit(START, END, icao_address="XYZ"), "6 hexadecimal"),
        (Permit(START, END, remote_id="x", zone_id=1, area=box(0, 0, 1, 1)), "not both"),
    ],
)
def test_invalid_permits_are_refused(permit: Permit, message: str) -> None:
    with pytest.raises(InputError, match=message):
        permit.validate()


def test_circle_area_is_a_polygon_of_the_radius() -> None:
    poly = circle_polygon(Circle(113.3, 23.1, 1000.0))
    assert poly.contains(Point(113.3, 23.1))
    assert poly.contains(Point(113.3, 23.1 + 0.0089))  # ~990 m north
    assert not poly.contains(Point(113.3, 23.1 + 0.0092))  # ~1020 m north


def test_store_chains_every_permit_change(db: Path) -> None:
    store = Store.open(db)
    p = store.add_permit(Permit(START, END, remote_id="SN-1", operator="Op", reason="show"))
    assert p.id == 1 and p.created_at is not None
    assert [x.id for x in store.permits()] == [1]
    store.revoke_permit(1)
    assert store.permits() == [] and store.permit(1).is_revoked
    assert store.evidence_count("permit") == 2
    con = sqlite3.connect(db)
    docs = [json.loads(p) for (p,) in con.execute("SELECT payload FROM evidence ORDER BY seq")]
    con.close()
    assert [d["action"] for d in docs] == ["add", "revoke"]
    assert docs[0]["permit"]["remote_id"] == "SN-1" and docs[1]["permit"]["revoked_iso"]
    assert verify_evidence(store).ok
    store.close()


def test_cli_add_list_revoke(uav: Invoke, db: Path, tmp_path: Path) -> None:
    assert uav("zones", "load", DATA / "geojson" / "guangzhou.geojson").exit_code == 0
    res = uav(
        "permits", "add", "--icao", "7c6b2d", "--start", START.isoformat(),
        "--end", END.isoformat(), "--zone", "1", "--operator", "TV crew", "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["icao_address"] == "7C6B2D" and doc["zone_id"] == 1
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "show", "restriction": "warning"},
        "geometry": {"type": "Polygon", "coordinates": [[[113.3, 23.1], [113.31, 23.1],
                     [113.31, 23.11], [113.3, 23.11], [113.3, 23.1]]]}}]}))  # fmt: skip
    res = uav(
        "permits", "add", "--remote-id", "SN-9", "--start", START.isoformat(),
        "--end", END.isoformat(), "--area", area,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "2"
    listed = json.loads(uav("permits", "list", "--json").stdout)
    assert [p["id"] for p in listed] == [1, 2]
    assert listed[1]["area_wkt"].startswith("POLYGON")
    assert uav("permits", "revoke", "1").exit_code == 0
    assert [p["id"] for p in json.loads(uav("permits", "list", "--json").stdout)] == [2]
    assert len(json.loads(uav("permits", "list", "--all", "--json").stdout)) == 2
    table = uav("permits", "list")
    assert table.exit_code == 0 and "SN-9" in table.stdout
    assert uav("detect", "verify").exit_code == 0
    store = Store.open(db)
    assert store.evidence_count("permit") == 3
    assert read_area(area).contains(Point(113.305, 23.105))
    store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--zone", "99"], "no zone with id 99"),
        (["--end", START.isoformat()], "not after start"),
        (["--remote-id", ""], "--remote-id or --icao"),
        (["--icao", "12345G"], "6 hexadecimal"),
    ],
)
def test_cli_bad_input_exits_2_and_changes_nothing(
    uav: Invoke, db: Path, args: list[str], message: str
) -> None:
    uav("permits", "list")  # creates the database
    before = db_snapshot(db)
    opts = {"--start": START.isoformat(), "--end": END.isoformat()}
    if "--remote-id" not in args and "--icao" not in args:
        opts["--remote-id"] = "SN-1"
    for i in range(0, len(args), 2):
        opts[args[i]] = args[i + 1]
    res = uav("permits", "add", *[x for kv in opts.items() for x in kv])
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert db_snapshot(db) == before


def test_cli_revoke_unknown_or_twice(uav: Invoke) -> None:
    res = uav("permits", "revoke", "5")
    assert res.exit_code == 2 and "no permit with id 5" in res.stderr
    uav(
        "permits", "add", "--remote-id", "X", "--start", START.isoformat(), "--end", END.isoformat()
    )
    assert uav("permits", "revoke", "1").exit_code == 0
    res = uav("permits", "revoke", "1")
    assert res.exit_code == 2 and "already revoked" in res.stderr
