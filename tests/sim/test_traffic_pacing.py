"""ADS-B list pacing when stream ticks come late, as they do in a live emulator (each tick is
sent when the server polls, a few ms after it was due): still one aircraft a second and about
5 messages a second, like the adsb recording."""

from __future__ import annotations

import itertools
import random
import statistics
from collections import defaultdict

import pytest

from tests.sim.parts_fakes import FakeServices
from uav.sim.traffic import Traffic

HOME = (23.1290999, 113.3240000)
ADSB_PARAMS = {"SIM_ADSB_COUNT": 5, "SIM_ADSB_RADIUS": 1500, "SIM_ADSB_ALT": 300, "ADSB_TYPE": 1}


def jittered_stream(rate_hz: float, late_s: float, t_end: float) -> list[tuple[float, int]]:
    """(time, ICAO) of each ADSB_VEHICLE when every tick is sent up to ``late_s`` late."""
    services = FakeServices()
    services.params.update(ADSB_PARAMS)
    traffic = Traffic(services, seed=1, origin=HOME)
    rng = random.Random(7)
    period = 1.0 / rate_hz
    sent: list[tuple[float, int]] = []
    for k in itertools.count(1):
        due = 0.03 + k * period
        if due > t_end:
            return sent
        # the simulation steps to the tick, which goes out late
        services.now = round(due + rng.uniform(0.0, late_s), 6)
        traffic.update()
        for msg in traffic.adsb_messages(services.links[0].mav):
            sent.append((services.now, msg.ICAO_address))
    return sent


@pytest.mark.parametrize("late_s", [0.0, 0.005, 0.03])
def test_each_aircraft_once_a_second_with_late_ticks(late_s: float) -> None:
    sent = jittered_stream(5.0, late_s, 76.0)
    times: dict[int, list[float]] = defaultdict(list)
    for t, icao in sent:
        times[icao].append(t)
    gaps = [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]
    assert statistics.median(gaps) == pytest.approx(1.0, abs=0.04)  # recording: 1.003
    rate = sum(11.0 <= t < 75.0 for t, _ in sent) / 64.0
    assert 4.75 <= rate <= 5.1  # recording: 4.8 (11-75 s)


def test_twenty_hz_restarts_at_most_a_tick_early() -> None:
    """At 20 Hz (the recording's last 10 s) the list restarts on the tick at 0.95 or 1.0 s."""
    sent = jittered_stream(20.0, 0.005, 40.0)
    times: dict[int, list[float]] = defaultdict(list)
    for t, icao in sent:
        times[icao].append(t)
    gaps = [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]
    assert 0.94 <= statistics.median(gaps) <= 1.01
