"""`uav fleet add|list|remove` through CliRunner: output, exit codes, keys never shown."""

from __future__ import annotations

import json
from pathlib import Path

from uav.store import Store

from .conftest import Invoke, db_snapshot

KEY = bytes(range(32))


def test_add_list_remove(uav: Invoke) -> None:
    r = uav(
        "fleet",
        "add",
        "TH-01",
        "--connect",
        "tcp:127.0.0.1:5760",
        "--serial",
        "SITL-TH01-0001",
        "--remote-id",
        "UAV-SITL-TH-01",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    added = json.loads(r.stdout)
    assert added["name"] == "TH-01" and added["sysid"] == 1 and added["signing"] == "off"
    assert "drone TH-01 registered: tcp:127.0.0.1:5760, sysid 1, signing off" in r.stderr
    r = uav(
        "fleet",
        "add",
        "TH-02",
        "--connect",
        "udpin:0.0.0.0:14551",
        "--sysid",
        "2",
        "--sign",
        "--timeout",
        "0.2",
    )
    assert r.exit_code == 0 and r.stdout == "" and "signing requested" in r.stderr
    listed = json.loads(uav("fleet", "list", "--json").stdout)
    assert [(d["name"], d["sysid"], d["signing"]) for d in listed] == [
        ("TH-01", 1, "off"),
        ("TH-02", 2, "requested"),
    ]
    assert listed[0] == added
    r = uav("fleet", "list")
    assert r.exit_code == 0 and "TH-02" in r.stdout and "requested" in r.stdout
    assert "2 drone(s)" in r.stderr
    r = uav("fleet", "remove", "TH-01")
    assert r.exit_code == 0 and "drone TH-01 removed" in r.stderr
    assert [d["name"] for d in json.loads(uav("fleet", "list", "--json").stdout)] == ["TH-02"]


def test_signing_keys_never_leave_the_database(uav: Invoke, db: Path) -> None:
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:5760").exit_code == 0
    Store.open(db).set_signing_key("TH-01", KEY)
    for args in (("fleet", "list", "--json"), ("fleet", "list")):
        r = uav(*args)
        assert r.exit_code == 0
        for form in (KEY.hex(), repr(KEY), "000102030405"):
            assert form not in r.stdout and form not in r.stderr
    (drone,) = json.loads(uav("fleet", "list", "--json").stdout)
    assert drone["signing"] == "on" and not any("key" in k for k in drone)


def test_errors_are_exit_2_and_change_nothing(uav: Invoke, db: Path) -> None:
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:5760").exit_code == 0
    before = db_snapshot(db)
    cases = [
        (("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:5770"), "already registered"),
        (("fleet", "add", "TH-02", "--connect", "localhost:5760"), "use tcp:HOST:PORT"),
        (("fleet", "add", "TH 02", "--connect", "tcp:h:1"), "drone name 'TH 02'"),
        (("fleet", "add", "TH-02", "--connect", "tcp:h:1", "--sysid", "300"), "sysid 300"),
        (("fleet", "add", "TH-02", "--connect", "tcp:127.0.0.1:5760"), "TH-01 is already"),
        (("fleet", "remove", "TH-09"), "no drone named 'TH-09'"),
    ]
    for args, message in cases:
        r = uav(*args)
        assert r.exit_code == 2, (args, r.stderr)
        assert message in r.stderr and r.stdout == ""
    assert db_snapshot(db) == before


def test_usage_errors_are_exit_2(uav: Invoke) -> None:
    assert uav("fleet", "add", "TH-01").exit_code == 2  # --connect is required
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:h:1", "--sysid", "x").exit_code == 2
    assert uav("fleet", "remove").exit_code == 2


def test_empty_fleet(uav: Invoke) -> None:
    r = uav("fleet", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    r = uav("fleet", "list")
    assert r.exit_code == 0 and "0 drone(s)" in r.stderr
