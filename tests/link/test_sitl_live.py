"""The link against a live vehicle from the ``vehicles`` fixture (tests/sim_plugin.py): uav's
emulator, or ArduPilot SITL with ``--sim=ardupilot``, on a free instance number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import DATA
from tests.link.traces import exchange, tx
from uav.link import (
    CommandRefused,
    DroneLink,
    LinkConfig,
    LinkStatus,
    WaitTimeout,
    arm,
    disable_signing,
    enable_signing,
    generate_key,
    goto,
    land,
    rtl,
    set_mode,
    takeoff,
    wait_disarmed,
    wait_ready_to_arm,
    wait_until,
)
from uav.link.commands import command_long, ground_distance_m
from uav.link.mission_items import FENCE, MISSION, MissionItemInt, plan_to_mission_items
from uav.link.missions import upload, verify
from uav.plans.readers import read_plan

pytestmark = pytest.mark.sitl

HOME = (23.1291, 113.3240, 20.0, 0.0)  # lat, lon, alt AMSL, heading: the traces' home
SPEEDUP = 50.0
LIVE = LinkConfig(connect_timeout_s=10.0, heartbeat_timeout_s=5.0, reconnect_delay_s=0.25)


def url(instance: int, serial: int = 0) -> str:
    return f"tcp:127.0.0.1:{5760 + 10 * instance + serial}"


@pytest.fixture
def instance(vehicles: Callable[..., list[Any]]) -> int:
    """One vehicle at the traces' home, stopped by the fixture at the end of the test."""
    (vehicle,) = vehicles(1, speedup=SPEEDUP)
    return int(vehicle.instance)


@pytest.fixture
def live(instance: int) -> Iterator[DroneLink]:
    with DroneLink(url(instance), LIVE, name=f"sim{instance}") as link:
        yield link


def test_arming_before_the_ekf_is_ready_is_refused_with_texts(live: DroneLink) -> None:
    set_mode(live, "GUIDED")
    try:
        arm(live)
    except CommandRefused as exc:
        assert exc.result == 4
        assert exc.texts and all(t.startswith(("Arm:", "PreArm:")) for t in exc.texts)
    else:
        pytest.skip("the vehicle armed: it was already ready")


@pytest.mark.slow
def test_arm_takeoff_goto_rtl(live: DroneLink) -> None:
    ready = wait_ready_to_arm(live, timeout_s=120)
    assert ready.home is not None
    set_mode(live, "GUIDED")
    arm(live)
    assert takeoff(live, 20.0).alt_rel_m is not None
    south_lat = HOME[0] - 30.0 / 111_195.0  # 30 m south
    there = goto(live, south_lat, HOME[1], 20.0)
    assert there.lat_deg is not None and there.lon_deg is not None
    assert ground_distance_m(there.lat_deg, there.lon_deg, south_lat, HOME[1]) < 2.5
    assert rtl(live).mode_name == "RTL"
    landed = wait_disarmed(live, timeout_s=180)
    assert landed.alt_rel_m is not None and landed.alt_rel_m < 1.0
    assert landed.lat_deg is not None and landed.lon_deg is not None
    assert ground_distance_m(landed.lat_deg, landed.lon_deg, HOME[0], HOME[1]) < 5.0


@pytest.mark.slow
def test_takeoff_and_land(live: DroneLink) -> None:
    wait_ready_to_arm(live, timeout_s=120)
    set_mode(live, "GUIDED")
    arm(live)
    takeoff(live, 10.0)
    assert land(live).mode_name == "LAND"
    assert wait_disarmed(live, timeout_s=120).armed is False


def test_mission_and_fence_upload_and_verify(live: DroneLink) -> None:
    items = plan_to_mission_items(read_plan(DATA / "plans" / "canton-tower.plan"))
    progress: list[int] = []
    upload(live, MISSION, items, progress=lambda done, _total: progress.append(done))
    assert progress[-1] == len(items)
    verify(live, MISSION, items)
    fence_entries = exchange("fence", "A:", "B:", start="MISSION_COUNT")
    fence = [
        MissionItemInt(
            **{k: e.fields[k] for k in ("seq", "command", "frame", "x", "y", "z")},
            param1=e.fields["param1"],
            autocontinue=e.fields["autocontinue"],
            mission_type=FENCE,
        )
        for e in tx(fence_entries, "MISSION_ITEM_INT")
    ]
    upload(live, FENCE, fence)
    assert len(verify(live, FENCE, fence)) == 10


def start_emulator(instance: int) -> Any:
    from uav.sim import EmulatedVehicle, Home

    vehicle = EmulatedVehicle(instance, Home(*HOME), speedup=SPEEDUP)
    vehicle.start()
    return vehicle


def test_link_loss_and_reconnect(sim_kind: Any, free_instance: int) -> None:
    # Kills and restarts the vehicle on the same ports: done with the emulator in-process.
    if sim_kind.value != "emulator":
        pytest.skip("restarts the vehicle in-process: emulator only")
    number = free_instance
    vehicle = start_emulator(number)
    link = DroneLink(url(number), replace(LIVE, reconnect_attempts=40))
    try:
        link.open()
        vehicle.stop()
        lost = wait_until(
            link,
            lambda s: s if s.link == LinkStatus.LOST else None,
            timeout_s=15,
            allow_lost=True,
            what="the loss",
        )
        assert lost.link_detail
        vehicle = start_emulator(number)
        back = wait_until(
            link,
            lambda s: s if s.connected else None,
            timeout_s=30,
            allow_lost=True,
            what="the reconnect",
        )
        assert back.reconnects == 1
        assert set_mode(link, "ALT_HOLD").mode_name == "ALT_HOLD"
    finally:
        link.close()
        vehicle.stop()


def test_unsigned_command_to_a_signed_drone_is_ignored_on_serial1(instance: int) -> None:
    key = generate_key()
    with DroneLink(url(instance), LIVE) as main:
        enable_signing(main, key)
        try:
            with DroneLink(url(instance, serial=2), LIVE) as unsigned:
                with pytest.raises(WaitTimeout, match="COMMAND_ACK"):
                    command_long(unsigned, 176, 1, 2, ack_timeout_s=0.5)
                assert unsigned.state.mode_name != "ALT_HOLD"
            with DroneLink(url(instance, serial=2), replace(LIVE, signing_key=key)) as signed:
                assert set_mode(signed, "ALT_HOLD").mode_name == "ALT_HOLD"
            # SERIAL0 takes unsigned commands even while signing is on
            main.use_signing(key, accept_unsigned=False, sign_outgoing=False)
            assert set_mode(main, "STABILIZE").mode_name == "STABILIZE"
            main.use_signing(key, accept_unsigned=False)
        finally:
            disable_signing(main)
