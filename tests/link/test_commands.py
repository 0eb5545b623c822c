"""Commands against recorded vehicle answers (flight, signing and fence traces) and a scripted
vehicle for what the recordings do not show (lost ACKs, a vehicle that never climbs)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.link.fakevehicle import FakeVehicle
from tests.link.traces import Conversation, Entry, between, load, rx, step_time, steps, tx
from uav.errors import InputError
from uav.link.commands import arm, command_long, disarm, goto, land, rtl, set_mode, takeoff
from uav.link.connection import DroneLink
from uav.link.errors import CommandRefused, ParamRejected, UnknownMode, WaitTimeout
from uav.link.params import get_params, set_params
from uav.link.waits import wait_until


def commands_sent(fake: FakeVehicle, command: int) -> list[Any]:
    return [m for m in fake.sent_of("COMMAND_LONG") if m.command == command]


def prefeed(fake: FakeVehicle, link: DroneLink, entries: list[Entry]) -> None:
    """Send the vehicle's recorded messages and wait until the link has taken them all."""
    fake.send(*(e.raw for e in rx(entries)), fake.statustext(7, "prefeed done"))
    wait_until(
        link,
        lambda s: bool(s.statustexts) and s.statustexts[-1].text == "prefeed done",
        timeout_s=1e6,  # the recording moves the vehicle clock by minutes
        wall_timeout_s=10,
        what="the recorded messages",
    )


# ---------------------------------------------------------------------- recorded answers


def test_refused_arm_carries_the_arm_statustexts(fake: FakeVehicle, link: DroneLink) -> None:
    entries = steps("flight", "too early: MAV_CMD_COMPONENT_ARM_DISARM", "too early: SET_MODE")
    conv = Conversation(entries).install(fake)
    with pytest.raises(CommandRefused) as info:
        arm(link)
    assert conv.wait_done()
    assert info.value.result == 4  # MAV_RESULT_FAILED
    assert info.value.texts == (
        "Arm: Accels inconsistent",
        "Arm: EKF attitude is bad",
        "Arm: AHRS: waiting for home",
        "Arm: Fence requires position",
    )
    assert "ARM refused, result 4 (FAILED): Arm: Accels inconsistent;" in str(info.value)
    (sent,) = commands_sent(fake, 400)
    recorded = tx(entries, "COMMAND_LONG")[0].fields
    assert (sent.param1, sent.confirmation, sent.target_system) == (
        recorded["param1"],
        recorded["confirmation"],
        recorded["target_system"],
    )


@pytest.mark.parametrize(
    ("scenario", "link_name", "t0", "t1", "mode"),
    [
        ("signing", "SERIAL1", 4.0, 5.5, "ALT_HOLD"),  # before signing, on the second link
        ("flight", "SERIAL0", 257.0, 258.0, "STABILIZE"),  # after the AUTO run
    ],
)
def test_do_set_mode_is_confirmed_by_ack_and_heartbeat(
    fake: FakeVehicle,
    link: DroneLink,
    scenario: str,
    link_name: str,
    t0: float,
    t1: float,
    mode: str,
) -> None:
    entries = between(load(scenario, link_name), t0, t1)
    conv = Conversation(entries).install(fake)
    state = set_mode(link, mode)
    assert conv.wait_done()
    assert state.mode_name == mode
    (sent,) = commands_sent(fake, 176)
    recorded = tx(entries, "COMMAND_LONG")[0].fields
    for name in ("param1", "param2", "confirmation", "target_system", "target_component"):
        assert getattr(sent, name) == recorded[name], name


def test_do_set_mode_to_a_mode_copter_lacks_is_refused_with_its_text(
    fake: FakeVehicle, link: DroneLink
) -> None:
    # the recording client also sent SET_MODE 99; the link does not use SET_MODE. The cut
    # keeps the first "No such mode 99" (for DO_SET_MODE), not the second (for SET_MODE).
    entries = [e for e in steps("flight", "invalid mode") if e.t < 8.19]
    Conversation(entries, not_sent=frozenset({"SET_MODE"})).install(fake)
    with pytest.raises(CommandRefused) as info:
        command_long(link, 176, 1, 99, name="DO_SET_MODE 99")
    assert (info.value.result, info.value.texts) == (4, ("No such mode 99",))


def test_unknown_mode_name_is_bad_input_and_nothing_is_sent(
    fake: FakeVehicle, link: DroneLink
) -> None:
    with pytest.raises(UnknownMode, match="unknown ArduCopter mode 'hover'") as info:
        set_mode(link, "hover")
    assert isinstance(info.value, InputError)
    assert commands_sent(fake, 176) == []


def test_arm_then_takeoff_on_the_recorded_flight(fake: FakeVehicle, link: DroneLink) -> None:
    """The recording client sent NAV_TAKEOFF 5 ms after ARM, before the armed HEARTBEAT (47.03);
    the link waits for that HEARTBEAT first, so the recorded answers are split there."""
    flight = load("flight")
    t_arm = step_time("flight", "arm:")
    prefeed(fake, link, between(flight, 0.0, t_arm))
    after = rx(
        between(flight, t_arm, step_time("flight", "SET_POSITION_TARGET_GLOBAL_INT to GOTO1"))
    )
    armed_at = next(
        i for i, e in enumerate(after) if e.type == "HEARTBEAT" and e.fields["base_mode"] & 128
    )
    takeoff_ack = [e for e in after if e.type == "COMMAND_ACK" and e.fields["command"] == 22]
    arm_answer = [e.raw for e in after[: armed_at + 1] if e not in takeoff_ack]
    takeoff_answer = [e.raw for e in takeoff_ack + after[armed_at + 1 :]]

    def answer(msg: Any) -> list[bytes]:
        return {400: arm_answer, 22: takeoff_answer}.get(msg.command, [])

    fake.on("COMMAND_LONG", answer)
    assert arm(link).armed
    state = takeoff(link, 30.0)
    assert state.alt_rel_m is not None and state.alt_rel_m >= 29.0
    (sent,) = commands_sent(fake, 22)
    assert sent.param7 == 30.0


def goto_case(
    fake: FakeVehicle, link: DroneLink, step: str, until: str
) -> tuple[dict[str, Any], Conversation]:
    prefeed(fake, link, between(load("flight"), 0.0, step_time("flight", step) - 0.001))
    entries = steps("flight", step, until)
    target = tx(entries, "SET_POSITION_TARGET_GLOBAL_INT")[0].fields
    return target, Conversation(entries).install(fake)


def test_goto_flies_to_the_recorded_target(fake: FakeVehicle, link: DroneLink) -> None:
    target, conv = goto_case(
        fake,
        link,
        "SET_POSITION_TARGET_GLOBAL_INT to GOTO1",
        "SET_POSITION_TARGET_GLOBAL_INT to 130 m",
    )
    state = goto(link, target["lat_int"] / 1e7, target["lon_int"] / 1e7, target["alt"])
    assert conv.wait_done()  # the message matched frame 6, type_mask 3576 and the lat/lon
    assert state.lat_deg is not None and state.lon_deg is not None
    assert abs(state.lat_deg - target["lat_int"] / 1e7) < 2e-5
    assert state.alt_rel_m == pytest.approx(30.0, abs=2.0)


def test_goto_into_the_fence_ends_when_the_vehicle_switches_to_rtl(
    fake: FakeVehicle, link: DroneLink
) -> None:
    target, conv = goto_case(fake, link, "SET_POSITION_TARGET_GLOBAL_INT to 130 m", "AUTO run")
    with pytest.raises(CommandRefused) as info:
        goto(link, target["lat_int"] / 1e7, target["lon_int"] / 1e7, target["alt"])
    assert conv.wait_done()
    assert info.value.texts[0] == "the vehicle left GUIDED for RTL"
    assert "Polygon fence breached" in info.value.texts
    assert link.state.fence_breach_count == 1


# ---------------------------------------------------------------------- scripted vehicle


def guided_armed(fake: FakeVehicle, link: DroneLink) -> None:
    fake.send(fake.mav.heartbeat_encode(2, 3, 217, 4, 4, 3))
    wait_until(link, lambda s: s.armed and s.mode_name == "GUIDED", timeout_s=2, what="ready")


def test_a_command_without_ack_is_resent_then_times_out(fake: FakeVehicle, link: DroneLink) -> None:
    with pytest.raises(WaitTimeout, match="COMMAND_ACK for ARM") as info:
        command_long(link, 400, 1, name="ARM", ack_timeout_s=0.1, attempts=3)
    assert info.value.clock == "wall"
    assert [m.confirmation for m in commands_sent(fake, 400)] == [0, 1, 2]


def test_acks_for_other_commands_or_in_progress_do_not_end_the_wait(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.on(
        "COMMAND_LONG",
        lambda m: (
            [
                fake.command_ack(176, 4),
                fake.command_ack(m.command, 5),
                fake.command_ack(m.command, 0),
            ]
            if m.command == 400
            else []
        ),
    )
    command_long(link, 400, 1)


def test_arm_acked_but_never_armed_times_out_on_the_vehicle_clock(
    fake: FakeVehicle, link: DroneLink
) -> None:
    fake.send_time(50_000)
    wait_until(link, lambda s: s.vehicle_time_s == 50.0, timeout_s=2, what="clock")

    def answer(msg: Any) -> list[Any]:
        return [fake.command_ack(400, 0), fake.mav.system_time_encode(0, 60_000)]

    fake.on("COMMAND_LONG", answer)
    with pytest.raises(WaitTimeout, match="HEARTBEAT armed") as info:
        arm(link)
    assert info.value.clock == "vehicle"
    assert info.value.last_state is not None and info.value.last_state.armed is False


def test_takeoff_is_refused_before_sending_when_not_guided_and_armed(
    fake: FakeVehicle, link: DroneLink
) -> None:
    with pytest.raises(CommandRefused) as info:
        takeoff(link, 20)
    assert info.value.result is None
    assert info.value.texts == (
        "the vehicle is in STABILIZE, not GUIDED",
        "the vehicle is not armed",
    )
    assert commands_sent(fake, 22) == []
    with pytest.raises(InputError):
        takeoff(link, -5)


def test_takeoff_that_never_climbs_times_out(fake: FakeVehicle, link: DroneLink) -> None:
    guided_armed(fake, link)
    fake.send_time(10_000)
    wait_until(link, lambda s: s.vehicle_time_s == 10.0, timeout_s=2, what="clock")
    fake.on(
        "COMMAND_LONG",
        lambda m: [fake.command_ack(22, 0), fake.mav.system_time_encode(0, 40_000)],
    )
    with pytest.raises(WaitTimeout, match="the climb to start"):
        takeoff(link, 20)


def test_goto_checks_its_input_and_the_mode(fake: FakeVehicle, link: DroneLink) -> None:
    with pytest.raises(InputError, match="latitude 95"):
        goto(link, 95.0, 113.0, 20)
    with pytest.raises(CommandRefused, match="not GUIDED"):
        goto(link, 23.1, 113.3, 20)
    assert fake.sent_of("SET_POSITION_TARGET_GLOBAL_INT") == []


@pytest.mark.parametrize(("action", "mode", "number"), [(rtl, "RTL", 6), (land, "LAND", 9)])
def test_rtl_and_land_set_their_mode(
    fake: FakeVehicle, link: DroneLink, action: Any, mode: str, number: int
) -> None:
    def answer(msg: Any) -> list[Any]:
        if msg.command != 176:
            return []
        return [
            fake.command_ack(176, 0),
            fake.mav.heartbeat_encode(2, 3, 217, int(msg.param2), 4, 3),
        ]

    fake.on("COMMAND_LONG", answer)
    assert action(link).mode_name == mode
    assert commands_sent(fake, 176)[0].param2 == number


def test_force_disarm_sends_the_magic_number(fake: FakeVehicle, link: DroneLink) -> None:
    guided_armed(fake, link)
    fake.on(
        "COMMAND_LONG",
        lambda m: [fake.command_ack(400, 0), fake.mav.heartbeat_encode(2, 3, 89, 4, 3, 3)],
    )
    assert disarm(link, force=True).armed is False
    (sent,) = commands_sent(fake, 400)
    assert (sent.param1, sent.param2) == (0.0, 21196.0)


# ---------------------------------------------------------------------- parameters


def test_set_params_confirms_each_recorded_echo(fake: FakeVehicle, link: DroneLink) -> None:
    entries = steps("fence", "PARAM_SET", "A:")
    recorded = {e.fields["param_id"]: e.fields["param_value"] for e in tx(entries, "PARAM_SET")}
    assert list(recorded) == [
        "FENCE_TYPE",
        "FENCE_ACTION",
        "FENCE_ALT_MAX",
        "FENCE_MARGIN",
        "FENCE_ENABLE",
    ]
    conv = Conversation(entries).install(fake)
    assert set_params(link, recorded) == recorded
    assert get_params(link, ["FENCE_RADIUS"]) == {"FENCE_RADIUS": 150.0}  # copter.parm's value
    assert conv.wait_done()
    sent = [(m.param_id, m.param_value) for m in fake.sent_of("PARAM_SET")]
    assert sent == list(recorded.items())


def test_get_params_reads_the_recorded_values(fake: FakeVehicle, link: DroneLink) -> None:
    boot = load("boot")
    first = tx(boot, "PARAM_REQUEST_READ")[0].t
    entries = between(boot, first, first + 1.0)
    names = [e.fields["param_id"] for e in tx(entries, "PARAM_REQUEST_READ")]
    answers = {e.fields["param_id"]: e.fields["param_value"] for e in rx(entries, "PARAM_VALUE")}
    Conversation(entries).install(fake)
    assert get_params(link, names) == {name: answers[name] for name in names}


def test_set_params_rejects_a_different_echo(fake: FakeVehicle, link: DroneLink) -> None:
    fake.on(
        "PARAM_SET",
        lambda m: [fake.mav.param_value_encode(m.param_id.encode(), 100.0, 9, 1333, 65535)],
    )
    with pytest.raises(ParamRejected) as info:
        set_params(link, {"fence_alt_max": 500})
    assert (info.value.name, info.value.requested, info.value.echoed) == (
        "FENCE_ALT_MAX",
        500,
        100.0,
    )


def test_set_params_without_echo_times_out_and_long_names_are_refused(
    fake: FakeVehicle, link: DroneLink
) -> None:
    with pytest.raises(WaitTimeout, match="PARAM_VALUE for NO_SUCH_PARAM"):
        set_params(link, {"NO_SUCH_PARAM": 1}, reply_timeout_s=0.1)
    assert len(fake.sent_of("PARAM_SET")) == 3
    with pytest.raises(ParamRejected, match="1 to 16 characters"):
        set_params(link, {"A_VERY_LONG_PARAMETER_NAME": 1})
