"""A drone the monitor cannot judge is an alert, once, and fails the run (fail closed).

The watch is driven without its thread; its link is replaced by the state it would hold
(the edge of the MAVLink link, the only place a stand-in is allowed)."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

from uav.check.index import ZoneIndex
from uav.enforce.gate import DecisionGate
from uav.enforce.model import EnforcementEvent, EventKind
from uav.enforce.options import MonitorOptions
from uav.enforce.predict import Predictor
from uav.enforce.watch import DroneWatch
from uav.fleet.links import DroneTarget
from uav.zones.model import AltitudeRef, VerticalBand

from .test_enforce_predict import drone, square, zone


def test_a_drone_that_cannot_be_judged_raises_one_uncertain_event_until_it_can() -> None:
    # an AMSL band needs home's altitude above sea level; a drone that has not reported
    # home (nor its AMSL altitude) cannot be placed against it
    amsl = VerticalBand(floor_m=0.0, ceiling_m=200.0, ceiling_ref=AltitudeRef.AMSL)
    index = ZoneIndex([zone(1, square(0, 60, 20), band=amsl)])
    options = MonitorOptions()
    predictor = Predictor(
        index,
        lookahead_s=options.lookahead_s,
        buffer_m=options.buffer_m,
        max_alt_m=options.max_alt_m,
        time_margin_s=options.time_margin_s,
        drone="TH-01",
    )
    events: list[EnforcementEvent] = []
    gate = DecisionGate()
    watch = DroneWatch(
        DroneTarget("TH-01", "tcp:127.0.0.1:1", 1),
        predictor,
        options,
        events.append,
        threading.Event(),
        gate,
    )
    unknown_home = replace(drone(vn=10.0), home=None, alt_amsl_m=None, armed=True)
    watch.link = SimpleNamespace(state=unknown_home)  # type: ignore[assignment]
    gate.arrived("TH-01")
    watch._assess()
    assert gate.pending == frozenset()  # a failed assessment is a decision too
    watch._assess()
    assert [e.kind for e in events] == [EventKind.UNCERTAIN]
    assert "cannot judge" in events[0].reason and "AMSL" in events[0].reason.upper()
    assert watch.view().note is not None and "cannot assess" in watch.view().note

    watch.link = SimpleNamespace(state=replace(drone(), armed=True))  # type: ignore[assignment]
    watch._assess()  # judged again: the alert is over, and a later failure alerts anew
    assert watch.view().note is None
    watch.link = SimpleNamespace(state=unknown_home)  # type: ignore[assignment]
    watch._assess()
    assert [e.kind for e in events] == [EventKind.UNCERTAIN, EventKind.UNCERTAIN]
