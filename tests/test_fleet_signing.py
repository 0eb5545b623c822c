"""Per-drone MAVLink2 signing through `uav fleet add --sign` and `uav fleet sign`: the key
is made, installed with SETUP_SIGNING, kept in the database and never shown; afterwards an
unsigned command on the drone's second link (SERIAL1) is ignored, as ArduPilot ignores it,
while the tool's own (signed) commands work."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import said
from tests.sim_plugin import VehicleFactory
from uav.link import ConnectFailed, DroneLink, LinkConfig, WaitTimeout, wait_until
from uav.link.commands import MAV_CMD_DO_SET_MODE, command_long
from uav.link.modes import mode_number
from uav.store import Store

SPEEDUP = 20.0
LINK = LinkConfig(connect_timeout_s=5.0, reconnect_attempts=0)


def mode_of(uav: Invoke, name: str) -> str:
    r = uav("fleet", "status", name, "--json", "--timeout", "3")
    assert r.exit_code == 0, r.stderr
    (found,) = json.loads(r.stdout)
    assert found["link"] == "ok", found
    return str(found["mode"])


def assert_key_never_shown(key: bytes, *texts: str) -> None:
    for text in texts:
        for form in (key.hex(), repr(key), key[:6].hex()):
            assert form not in text


@pytest.mark.sitl
def test_unsigned_commands_to_a_signed_drone_are_ignored_on_serial1(
    uav: Invoke, vehicles: VehicleFactory, db: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)
    serial1 = v.link_url(1)  # tcp 5762+10N: it listens once the vehicle has booted
    with DroneLink(v.url, LINK) as boot:  # the first client on SERIAL0 boots the vehicle
        assert boot.state.connected
    r = uav("fleet", "add", "TH-01", "--connect", serial1, "--sign", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["signing"] == "on"
    assert f"drone TH-01 registered: {serial1}, sysid 1, signing on" in r.stderr
    key = Store.open(db).signing_key("TH-01")
    assert key is not None and len(key) == 32
    assert_key_never_shown(key, r.stdout, r.stderr, uav("fleet", "list", "--json").stdout)

    # an unsigned DO_SET_MODE on SERIAL1 is ignored: no ACK, the mode does not change
    with DroneLink(serial1, LINK) as unsigned:
        assert unsigned.state.connected  # it hears the drone (signed packets pass unchecked)
        with pytest.raises(WaitTimeout, match="COMMAND_ACK"):
            command_long(
                unsigned, MAV_CMD_DO_SET_MODE, 1, mode_number("ALT_HOLD"), ack_timeout_s=0.3
            )
        assert unsigned.state.mode_name == "STABILIZE"
    # the tool signs with the drone's key: its command works
    r = uav("fleet", "mode", "TH-01", "ALT_HOLD")
    assert r.exit_code == 0, r.stderr
    assert mode_of(uav, "TH-01") == "ALT_HOLD"

    # a new key replaces the old one; the old key no longer works
    r = uav("fleet", "sign", "TH-01")
    assert r.exit_code == 0, r.stderr
    assert "TH-01: signing on" in r.stderr
    new_key = Store.open(db).signing_key("TH-01")
    assert new_key is not None and new_key != key
    assert_key_never_shown(new_key, r.stdout, r.stderr)
    old = DroneLink(serial1, replace(LINK, signing_key=key, connect_timeout_s=1.0))
    try:
        with pytest.raises(ConnectFailed, match="do not verify"):
            old.open()
    finally:
        old.close()
    r = uav("fleet", "mode", "TH-01", "STABILIZE")
    assert r.exit_code == 0, r.stderr
    assert mode_of(uav, "TH-01") == "STABILIZE"


@pytest.mark.sitl
def test_sign_an_existing_drone_and_the_refusal_while_armed(
    uav: Invoke, vehicles: VehicleFactory, db: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    assert uav("fleet", "add", "TH-01", "--connect", v.url).exit_code == 0
    assert uav("fleet", "mode", "TH-01", "GUIDED").exit_code == 0
    assert uav("fleet", "arm", "TH-01").exit_code == 0
    r = uav("fleet", "sign", "TH-01")
    assert r.exit_code == 1, r.stderr
    assert "refused: TH-01:" in said(r.stderr) and "Won't setup signing when armed" in r.stderr
    assert Store.open(db).signing_key("TH-01") is None
    (listed,) = json.loads(uav("fleet", "list", "--json").stdout)
    assert listed["signing"] == "requested"
    assert uav("fleet", "disarm", "TH-01").exit_code == 0
    r = uav("fleet", "sign", "TH-01")
    assert r.exit_code == 0, r.stderr
    key = Store.open(db).signing_key("TH-01")
    assert key is not None
    with DroneLink(v.url, replace(LINK, signing_key=key)) as link:  # packets verify with it
        wait_until(link, lambda s: s.rx_signed, timeout_s=5.0, what="a signed packet")
    assert mode_of(uav, "TH-01") == "GUIDED"


def test_add_with_sign_of_an_unreachable_drone_keeps_it_requested(uav: Invoke, db: Path) -> None:
    r = uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9", "--sign")
    assert r.exit_code == 0
    assert "drone TH-01 registered: tcp:127.0.0.1:9, sysid 1, signing requested" in r.stderr
    assert "signing key not installed: TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
    assert "uav fleet sign TH-01" in said(r.stderr)
    assert Store.open(db).signing_key("TH-01") is None
    r = uav("fleet", "sign", "TH-01")
    assert r.exit_code == 2 and "TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
    assert uav("fleet", "sign", "TH-09").exit_code == 2
    assert (
        uav("fleet", "add", "TH-02", "--connect", "tcp:h:1", "--sign", "--timeout", "0").exit_code
        == 2
    )
    assert [d["name"] for d in json.loads(uav("fleet", "list", "--json").stdout)] == ["TH-01"]
