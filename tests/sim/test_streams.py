"""Stream scheduling: rates per link, per-message intervals (no sockets)."""

from __future__ import annotations

from collections import Counter

import pytest

from uav.sim.streams import DATA_STREAM_IDS, STREAM_MESSAGES, LinkSchedule


def run(schedule: LinkSchedule, start_s: float, seconds: float, step_s: float) -> Counter[str]:
    counts: Counter[str] = Counter()
    t = start_s
    while t < start_s + seconds:
        counts.update(schedule.due(t))
        t += step_s
    return counts


def test_nothing_streams_by_default() -> None:
    schedule = LinkSchedule()
    assert schedule.due(100.0) == []
    assert schedule.next_due_s() == float("inf")
    assert schedule.interval_s("GLOBAL_POSITION_INT") is None


def test_all_at_4hz_sends_every_stream_message_at_4hz() -> None:
    schedule = LinkSchedule()
    for suffix in DATA_STREAM_IDS[0]:
        schedule.set_stream_rate(suffix, 4, 10.0)
    counts = run(schedule, 10.0, 10.0, 0.01)
    for suffix in DATA_STREAM_IDS[0]:
        for name in STREAM_MESSAGES[suffix]:
            expected = 5 if name == "TERRAIN_REQUEST" else 40  # TERRAIN_REQUEST: every 2 s
            assert counts[name] == pytest.approx(expected, abs=1), name
            if name != "TERRAIN_REQUEST":
                assert schedule.interval_s(name) == 0.25


def test_stream_messages_go_out_together() -> None:
    schedule = LinkSchedule()
    schedule.set_stream_rate("EXTRA3", 2, 0.0)
    due = schedule.due(0.5)
    assert due[: len(STREAM_MESSAGES["EXTRA3"])] == list(STREAM_MESSAGES["EXTRA3"])


def test_message_interval_overrides_one_message_only() -> None:
    schedule = LinkSchedule()
    schedule.set_stream_rate("POSITION", 4, 0.0)
    schedule.set_override("GLOBAL_POSITION_INT", 0.1, 0.0)
    counts = run(schedule, 0.0, 10.0, 0.005)
    assert counts["GLOBAL_POSITION_INT"] == pytest.approx(100, abs=1)
    assert counts["LOCAL_POSITION_NED"] == pytest.approx(40, abs=1)
    assert schedule.interval_s("GLOBAL_POSITION_INT") == 0.1


def test_interval_minus_one_disables_and_zero_restores() -> None:
    schedule = LinkSchedule()
    schedule.set_stream_rate("EXTRA1", 4, 0.0)
    schedule.set_override("ATTITUDE", -1.0, 0.0)
    assert schedule.interval_s("ATTITUDE") is None
    assert "ATTITUDE" not in run(schedule, 0.0, 2.0, 0.01)
    schedule.set_override("ATTITUDE", None, 2.0)
    assert schedule.interval_s("ATTITUDE") == 0.25
    assert run(schedule, 2.0, 2.0, 0.01)["ATTITUDE"] == pytest.approx(8, abs=1)


def test_override_of_a_message_in_no_enabled_stream() -> None:
    schedule = LinkSchedule()
    schedule.set_override("HOME_POSITION", 1.0, 0.0)
    assert run(schedule, 0.0, 5.0, 0.01)["HOME_POSITION"] == pytest.approx(5, abs=1)


def test_rate_zero_stops_a_stream_and_rates_are_capped() -> None:
    schedule = LinkSchedule()
    schedule.set_stream_rate("EXTRA2", 500, 0.0)
    assert schedule.interval_s("VFR_HUD") == pytest.approx(1 / 50)
    schedule.set_stream_rate("EXTRA2", 0, 1.0)
    assert schedule.interval_s("VFR_HUD") is None
    assert run(schedule, 1.0, 1.0, 0.01) == Counter()


def test_a_late_poll_does_not_burst() -> None:
    schedule = LinkSchedule()
    schedule.set_stream_rate("EXTRA2", 10, 0.0)
    assert schedule.due(5.0) == ["VFR_HUD"]  # 5 s late: one message, not fifty
    assert schedule.due(5.05) == []
    assert schedule.due(5.1) == ["VFR_HUD"]
