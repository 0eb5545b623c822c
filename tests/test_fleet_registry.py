"""The fleet registry in the store (schema v2): drones, links, ids, signing keys, migration."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from uav.errors import InputError, NotFound
from uav.formats import read_zone_file
from uav.store import Store
from uav.store.drones import Drone
from uav.store.schema import SCHEMA_VERSION

from .conftest import DATA

KEY = bytes(range(32))  # the test key of the signing trace
TH01 = Drone(
    "TH-01",
    "tcp:127.0.0.1:5760",
    sysid=1,
    serial="SITL-TH01-0001",
    remote_id="UAV-SITL-TH-01",
)


def test_add_get_list_remove(db: Path) -> None:
    store = Store.open(db)
    added = store.add_drone(TH01)
    assert added.id is not None and added.created_at is not None
    assert replace(added, id=None, created_at=None) == TH01
    store.add_drone(Drone("TH-02", "udpin:0.0.0.0:14551", sysid=2))
    assert [d.name for d in Store.open(db).drones()] == ["TH-01", "TH-02"]
    assert store.drone("TH-01") == added
    assert store.remove_drone("TH-01") == added
    with pytest.raises(NotFound, match="no drone named 'TH-01'"):
        store.drone("TH-01")
    with pytest.raises(NotFound):
        store.remove_drone("TH-01")
    assert [d.name for d in store.drones()] == ["TH-02"]


def test_names_are_unique_and_links_unambiguous(db: Path) -> None:
    store = Store.open(db)
    store.add_drone(TH01)
    with pytest.raises(InputError, match="already registered"):
        store.add_drone(replace(TH01, connect_url="tcp:127.0.0.1:5770"))
    with pytest.raises(InputError, match=r"TH-01 is already registered on tcp:127\.0\.0\.1:5760"):
        store.add_drone(Drone("TH-09", "tcp:127.0.0.1:5760", sysid=1))
    store.add_drone(Drone("TH-09", "tcp:127.0.0.1:5760", sysid=9))  # same router, other id
    assert store.count("drones") == 2


@pytest.mark.parametrize(
    "url",
    [
        "tcp:127.0.0.1:5760",
        "tcp:drone-th01.local:5760",
        "udpin:0.0.0.0:14550",
        "udpout:10.0.0.5:14550",
        "udp:127.0.0.1:14550",
        "tcpin:0.0.0.0:5760",
        "/dev/ttyUSB0",
        "/dev/ttyACM0,115200",
        "COM3,57600",
    ],
)
def test_accepted_connections(db: Path, url: str) -> None:
    assert Store.open(db).add_drone(Drone("TH-01", url)).connect_url == url


@pytest.mark.parametrize(
    "url", ["", "127.0.0.1:5760", "tcp:127.0.0.1", "tcp:127.0.0.1:0", "tcp:h:70000", "http://x"]
)
def test_refused_connections(db: Path, url: str) -> None:
    with pytest.raises(InputError, match="use tcp:HOST:PORT"):
        Store.open(db).add_drone(Drone("TH-01", url))


@pytest.mark.parametrize(
    ("drone", "message"),
    [
        (Drone("", "tcp:h:1"), "drone name ''"),
        (Drone("TH 01", "tcp:h:1"), "drone name 'TH 01'"),
        (Drone("TH-01", "tcp:h:1", sysid=0), "sysid 0"),
        (Drone("TH-01", "tcp:h:1", sysid=255), "255 is the ground station"),
        (Drone("TH-01", "tcp:h:1", serial=" "), "serial"),
        (Drone("TH-01", "tcp:h:1", remote_id="X" * 21), "1..20 printable ASCII"),
        (Drone("TH-01", "tcp:h:1", remote_id="无人机"), "printable ASCII"),
        (Drone("TH-01", "tcp:h:1", sim_instance=-1), "instance -1"),
    ],
)
def test_invalid_drones_are_refused_and_nothing_is_written(
    db: Path, drone: Drone, message: str
) -> None:
    store = Store.open(db)
    with pytest.raises(InputError, match=message):
        store.add_drone(drone)
    assert store.count("drones") == 0


def test_signing_key_is_kept_apart(db: Path) -> None:
    store = Store.open(db)
    store.add_drone(replace(TH01, sign_requested=True))
    assert store.drone("TH-01").signing == "requested"
    assert store.signing_key("TH-01") is None
    store.set_signing_key("TH-01", KEY)
    drone = store.drone("TH-01")
    assert drone.signing == "on" and drone.signing_key_set
    assert KEY.hex() not in repr(drone) and str(KEY) not in repr(drone)
    assert Store.open(db).signing_key("TH-01") == KEY
    for bad in (b"short", KEY + b"x"):
        with pytest.raises(InputError, match="32 bytes"):
            store.set_signing_key("TH-01", bad)
    assert store.signing_key("TH-01") == KEY
    store.set_signing_key("TH-01", None)
    assert store.signing_key("TH-01") is None and store.drone("TH-01").signing == "requested"
    with pytest.raises(NotFound):
        store.set_signing_key("TH-09", KEY)
    with pytest.raises(NotFound):
        store.signing_key("TH-09")


def test_update_keeps_the_key_and_creation_time(db: Path) -> None:
    store = Store.open(db)
    before = store.add_drone(replace(TH01, sim_instance=0))
    store.set_signing_key("TH-01", KEY)
    after = store.update_drone(replace(TH01, connect_url="tcp:127.0.0.1:5790", sim_instance=3))
    assert (after.connect_url, after.sim_instance) == ("tcp:127.0.0.1:5790", 3)
    assert after.created_at == before.created_at and after.signing == "on"
    with pytest.raises(NotFound):
        store.update_drone(replace(TH01, name="TH-09"))


def test_a_version_1_database_is_migrated_with_its_data(db: Path) -> None:
    store = Store.open(db)
    store.add_zones(read_zone_file(DATA / "geojson" / "guangzhou.geojson"))
    store.close()
    con = sqlite3.connect(db)  # make it exactly what uav with schema v1 left behind
    con.execute("DROP TABLE drones")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    store = Store.open(db)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.count("zones") == 6 and store.drones() == []
    store.add_drone(TH01)
    assert store.drone("TH-01").connect_url == "tcp:127.0.0.1:5760"
