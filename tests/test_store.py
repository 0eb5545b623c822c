"""The store: schema version, zone and grant persistence, all-or-nothing writes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from uav.auth.model import Grant
from uav.errors import InputError, NotFound, StoreError
from uav.formats import read_zone_file
from uav.store import Store, resolve_db_url
from uav.zones.model import Restriction

from .conftest import DATA

GZ = DATA / "geojson" / "guangzhou.geojson"
T0 = datetime.fromisoformat("2026-12-05T18:00:00+08:00")


def test_new_database_has_the_current_schema_version(db: Path) -> None:
    store = Store.open(db)
    assert store.schema_version() == 4
    assert db.exists()


def test_a_version_2_database_is_migrated_and_keeps_its_data(db: Path) -> None:
    store = Store.open(db)
    store.add_zones(read_zone_file(GZ))
    store.close()
    con = sqlite3.connect(db)
    con.execute("DROP TABLE enforcement_events")
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    again = Store.open(db)
    assert again.schema_version() == 4
    assert again.count("enforcement_events") == 0
    assert again.count("zones") == len(read_zone_file(GZ))


def test_newer_schema_is_refused(db: Path) -> None:
    Store.open(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store.open(db)


def test_uav_db_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAV_DB", str(tmp_path / "station.db"))
    assert resolve_db_url(None) == f"sqlite:///{tmp_path / 'station.db'}"
    assert resolve_db_url("postgresql://u@h/uav") == "postgresql://u@h/uav"


def test_default_database_is_in_the_user_data_directory(tmp_path: Path) -> None:
    # conftest points XDG_DATA_HOME at tmp_path / "xdg-data"
    assert resolve_db_url(None) == f"sqlite:///{tmp_path / 'xdg-data' / 'uav' / 'uav.db'}"


def test_zones_survive_a_reopen_unchanged(db: Path) -> None:
    zones = read_zone_file(GZ)
    stored, _ = Store.open(db).add_zones(zones)
    again = Store.open(db).zones()
    assert [z.id for z in again] == [z.id for z in stored]
    assert again == stored  # every field, geometry coordinates exactly (WKB is lossless)


def test_queries_by_time_bbox_and_restriction(db: Path) -> None:
    store = Store.open(db)
    store.add_zones(read_zone_file(GZ))
    before_match = datetime.fromisoformat("2026-12-04T12:00:00+08:00").timestamp()
    names = {z.name for z in store.zones(active_between=(before_match, before_match + 60))}
    assert "Tianhe Sports Center match day" not in names and "Canton Tower" in names
    near_tower = {z.name for z in store.zones(bbox=(113.324, 23.106, 113.325, 23.107))}
    assert "Canton Tower" in near_tower and "Baiyun International Airport" not in near_tower
    ops = store.zones(restrictions=[Restriction.OPERATING_AREA])
    assert [z.name for z in ops] == ["Tianhe unit operating area"]


def test_remove_is_all_or_nothing(db: Path) -> None:
    store = Store.open(db)
    stored, _ = store.add_zones(read_zone_file(GZ))
    with pytest.raises(NotFound, match="999"):
        store.remove_zones([stored[0].id or 0, 999])
    assert store.count("zones") == 6
    store.remove_zones([stored[0].id or 0])
    assert store.count("zones") == 5


def test_grants_revoke_and_filter(db: Path) -> None:
    store = Store.open(db)
    stored, _ = store.add_zones(read_zone_file(GZ))
    zid = stored[3].id or 0
    g = store.add_grant(
        Grant(
            zone_id=zid,
            drone="TH-01",
            start=T0,
            end=T0 + timedelta(hours=1),
            granted_by="Officer Chen",
            reason="match security",
        )
    )
    assert g.id is not None and g.covers("TH-01", zid, T0.timestamp(), T0.timestamp() + 600)
    assert not g.covers("TH-02", zid, T0.timestamp(), T0.timestamp() + 600)
    assert not g.covers("TH-01", zid, T0.timestamp(), T0.timestamp() + 7200)
    store.revoke_grant(g.id, by="Officer Li")
    assert store.grants(drone="TH-01") == []
    (revoked,) = store.grants(drone="TH-01", include_revoked=True)
    assert revoked.revoked_by == "Officer Li"
    with pytest.raises(InputError, match="already revoked"):
        store.revoke_grant(g.id, by="Officer Li")


def test_grant_for_unknown_zone_is_refused(db: Path) -> None:
    with pytest.raises(NotFound):
        Store.open(db).add_grant(
            Grant(
                zone_id=42, drone="TH-01", start=T0, end=T0 + timedelta(hours=1), granted_by="Chen"
            )
        )
