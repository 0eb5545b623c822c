"""DecisionGate: decisions one at a time, housekeeping after the pending decisions (bounded);
the warm-up before the first decision."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from uav.check.index import ZoneIndex
from uav.enforce.gate import DecisionGate
from uav.enforce.predict import Predictor
from uav.zones.model import AltitudeRef, VerticalBand

from .test_enforce_predict import square, zone


def test_housekeeping_waits_for_the_pending_decisions() -> None:
    gate = DecisionGate()
    gate.arrived("TH-01")
    gate.arrived("TH-02")
    assert gate.pending == {"TH-01", "TH-02"}
    released = threading.Event()

    def housekeeping() -> None:
        if gate.wait_idle(10.0):
            released.set()

    worker = threading.Thread(target=housekeeping)
    worker.start()
    try:
        gate.done("TH-01")
        assert not released.wait(0.05)  # TH-02 is still pending
        gate.done("TH-02")
        assert released.wait(5.0)
    finally:
        worker.join(5.0)
    assert gate.pending == frozenset()


def test_a_drone_does_not_wait_for_itself() -> None:
    gate = DecisionGate()
    gate.arrived("TH-01")  # its own next position arrived while it keeps house
    assert gate.wait_idle(0.0, "TH-01")
    assert not gate.wait_idle(0.0, "TH-02")


def test_the_wait_is_bounded() -> None:
    gate = DecisionGate()
    gate.arrived("TH-01")  # never decided: a stuck watch must not starve the others
    started = time.monotonic()
    assert not gate.wait_idle(0.1, "TH-02")
    assert time.monotonic() - started < 5.0


def test_decisions_run_one_at_a_time() -> None:
    gate = DecisionGate()
    inside = 0
    most = 0
    lock = threading.Lock()
    go = threading.Barrier(4)

    def decide() -> None:
        nonlocal inside, most
        go.wait(5.0)
        for _ in range(200):
            with gate.deciding():
                with lock:
                    inside += 1
                    most = max(most, inside)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10.0)
    assert most == 1


def test_warming_up_never_fails_the_monitor() -> None:
    """The warm-up prediction runs where the first zone is; a zone it cannot judge there
    (an AMSL band, no home altitude) is for the real predictions to report, not a crash."""
    amsl = VerticalBand(floor_m=0.0, ceiling_m=200.0, ceiling_ref=AltitudeRef.AMSL)
    for zones in ([], [zone(1, square(0, 60, 20), band=amsl)], [zone(1, square(0, 60, 20))]):
        predictor = Predictor(
            ZoneIndex(zones), lookahead_s=8.0, buffer_m=20.0, max_alt_m=120.0, time_margin_s=5.0
        )
        predictor.warm_up(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
