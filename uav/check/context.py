"""What one check carries from rule to rule: the legs, the options and the raw findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from uav.auth.model import Grant
from uav.check.index import ZoneTable
from uav.check.intervals import Pieces, Span, time_params, widen
from uav.check.legs import Legs
from uav.errors import CheckUncertain
from uav.geo.local import LocalFrame
from uav.plans.model import FlightPath
from uav.timeutil import from_epoch
from uav.zones.model import Zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
ObjArray = npt.NDArray[np.object_]


@dataclass
class RawFinding:
    """A finding before its position is turned into lon/lat and its message is written."""

    violation: bool
    rule: str
    leg: int
    s: float  # leg parameter of the entry point
    what: str  # verb phrase after "Leg i→j", e.g. "enters prohibited zone 'X' (GND – UNL)"
    zone: Zone | None = None
    restriction: str | None = None
    why: str = ""  # appended after the position
    clearance_m: float | None = None
    s_exit: float | None = None  # where the stay ends on this leg (None: never merged)
    until_leg: int | None = None  # the stay goes on through this later leg


def merge_stays(findings: list[RawFinding], tol: float = 1e-6) -> list[RawFinding]:
    """One finding per stay: a finding on the next leg that carries on the same stay (same
    rule and zone, ending at this leg's end and starting at the next leg's start) is folded
    into the first, which records the last leg it goes through."""
    ordered = sorted(findings, key=lambda f: (f.rule, id(f.zone), f.violation, f.leg, f.s))
    out: list[RawFinding] = []
    head: RawFinding | None = None
    tail: RawFinding | None = None
    for f in ordered:
        if (
            head is not None
            and tail is not None
            and (f.rule, f.zone, f.violation) == (head.rule, head.zone, head.violation)
            and f.leg == tail.leg + 1
            and tail.s_exit is not None
            and tail.s_exit >= 1.0 - tol
            and f.s_exit is not None
            and f.s <= tol
        ):
            head.until_leg = f.leg
            if f.clearance_m is not None and head.clearance_m is not None:
                head.clearance_m = min(head.clearance_m, f.clearance_m)
            tail = f
            continue
        out.append(f)
        head = tail = f
    return out


@dataclass
class Check:
    """The state of one ``check_path`` call."""

    path: FlightPath
    legs: Legs
    leg_geoms: ObjArray
    frame: LocalFrame
    start_s: float
    drone: str | None
    grants: Sequence[Grant]
    buffer_m: float
    max_alt_m: float
    margin_s: float
    ground_rules: bool = True  # home-in-zone (off for paths starting in the air)
    findings: list[RawFinding] = field(default_factory=list)
    used_agl: bool = False
    used_schedules: bool = False
    used_grants: bool = False
    _spans: dict[tuple[int, int, float], list[Span]] = field(default_factory=dict)

    @property
    def flight_span(self) -> Span:
        """Absolute start and end of the flight (epoch seconds)."""
        return (
            self.start_s + float(self.legs.t0_s.min()),
            self.start_s + float(self.legs.t1_s.max()),
        )

    def leg_span(self, leg: int) -> Span:
        return (
            self.start_s + float(self.legs.t0_s[leg]),
            self.start_s + float(self.legs.t1_s[leg]),
        )

    def add(self, finding: RawFinding) -> None:
        self.findings.append(finding)

    def heights(self, table: ZoneTable, zone_idx: IntArray) -> tuple[FloatArray, FloatArray]:
        """Floor and ceiling of zones ``zone_idx`` above home; AMSL needs home's AMSL."""
        floor_amsl = table.floor_amsl[zone_idx]
        ceiling_amsl = table.ceiling_amsl[zone_idx]
        home = self.path.home_amsl_m
        if home is None:
            need = np.flatnonzero(floor_amsl | ceiling_amsl)
            if need.size:
                zone = table.zones[int(zone_idx[need[0]])]
                raise CheckUncertain(
                    f"zone {zone.name!r} (id {zone.id}) has its altitude band in AMSL "
                    f"({zone.band.describe()}), but the plan does not give home's altitude "
                    "above sea level, so the drone's AMSL altitude is unknown"
                )
            home = 0.0
        floor_m = table.floor_m[zone_idx]
        ceiling_m = table.ceiling_m[zone_idx]
        agl_limit = ((~floor_amsl) & (floor_m > 0)) | ((~ceiling_amsl) & np.isfinite(ceiling_m))
        self.used_agl = self.used_agl or bool(agl_limit.any())
        return (
            floor_m - np.where(floor_amsl, home, 0.0),
            ceiling_m - np.where(ceiling_amsl, home, 0.0),
        )

    def active_spans(self, table: ZoneTable, zone: int, margin_s: float) -> list[Span]:
        """When zone ``zone`` is active around the flight, widened by ``margin_s`` (or narrowed
        when negative). Cached per check."""
        key = (id(table), zone, margin_s)
        if key not in self._spans:
            t0, t1 = self.flight_span
            pad = 2.0 * abs(margin_s) + 1.0
            spans = table.zones[zone].schedule.active_intervals(t0 - pad, t1 + pad)
            self._spans[key] = widen(spans, margin_s)
            self.used_schedules = True
        return self._spans[key]

    def clip_to_schedules(
        self,
        pieces: Pieces,
        table: ZoneTable,
        leg_idx: IntArray,
        zone_idx: IntArray,
        margin_s: float,
    ) -> Pieces:
        """Keep the parts of ``pieces`` when their zone is active (schedules widened)."""
        scheduled = np.flatnonzero(~table.permanent[zone_idx])

        def spans_of(pair: int) -> list[Span]:
            spans = self.active_spans(table, int(zone_idx[pair]), margin_s)
            return time_params(spans, *self.leg_span(int(leg_idx[pair])))

        return pieces.clip_some(scheduled.astype(np.intp), spans_of)

    def abs_time(self, leg: int, s: float) -> float:
        return self.start_s + float(self.legs.time_at(np.array([leg]), np.array([s]))[0])

    def granted(self, zone: Zone, t0_s: float, t1_s: float) -> bool:
        """Whether one grant lets the drone be in ``zone`` for all of [t0, t1] ± margin."""
        self.used_grants = True
        if self.drone is None or zone.id is None:
            return False
        lo, hi = t0_s - self.margin_s, t1_s + self.margin_s
        return any(g.covers(self.drone, zone.id, lo, hi) for g in self.grants)

    def grant_problem(self, zone: Zone, t0_s: float, t1_s: float) -> str:
        """Why no grant covers [t0, t1] ± margin, as a clause to append to a message."""
        if self.drone is None:
            return "; no drone was named, so no grant can apply"
        if zone.id is None:
            return "; the zone has no database id, so no grant can apply"
        need = f"{_clock(t0_s - self.margin_s)}–{_clock(t1_s + self.margin_s)} UTC"
        mine = [
            g
            for g in self.grants
            if g.drone == self.drone and g.zone_id == zone.id and not g.is_revoked
        ]
        if not mine:
            return f"; drone {self.drone!r} holds no grant for it (needed {need})"
        held = ", ".join(f"{_clock(g.start.timestamp())}–{_clock(g.end.timestamp())}" for g in mine)
        return (
            f"; drone {self.drone!r} needs a grant for {need} (inside time ±{self.margin_s:g} s) "
            f"but its grants cover {held} UTC"
        )


def _clock(t_s: float) -> str:
    return from_epoch(t_s).strftime("%Y-%m-%d %H:%M:%S")
