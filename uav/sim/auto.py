"""AUTO: flying the stored mission (``MissionServer.items(0)``, seq 1..n).

What flight.jsonl shows, and this reproduces:

* MISSION_START (or AUTO while armed) starts at seq 1 with ``Mission: 1 Takeoff`` (sent twice
  after MISSION_START); each started command is announced as ``Mission: <seq> <name>``.
* A reached waypoint gives ``Reached command #<seq>``; a finished take-off gives no text.
  DO commands that follow run at once. MISSION_ITEM_REACHED is sent once per step with the
  last command finished, so reaching WP 2 followed by DO_CHANGE_SPEED 3 reports seq 3 and
  never seq 2; MISSION_CURRENT then jumps from 2 to 4.
* The final RTL (or LAND) finishes when the vehicle disarms after touchdown:
  MISSION_ITEM_REACHED, then ``Disarming motors``; MISSION_CURRENT turns to seq 0,
  mission_state 5 (COMPLETE); the mode stays AUTO.

Command names other than Takeoff, WP, ChangeSpeed and RTL are *from source*. Not modelled:
spline paths (flown as straight legs), LOITER_TURNS circles (flown as a waypoint), terrain
frames (flown relative to home), CONDITION_* commands (done at once), camera/servo/relay
commands (announced, no effect).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from uav.sim.constants import SEV_INFO
from uav.sim.flight import Target

if TYPE_CHECKING:
    from uav.sim.autopilot import Autopilot

NAV_WAYPOINT = 16
NAV_LOITER_UNLIM = 17
NAV_LOITER_TURNS = 18
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_LAND = 21
NAV_TAKEOFF = 22
NAV_SPLINE_WAYPOINT = 82
NAV_DELAY = 93
NAV_LAST = 95
DO_JUMP = 177
DO_CHANGE_SPEED = 178
DO_SET_HOME = 179

COMMAND_NAMES = {
    16: "WP",
    17: "LoitUnlim",
    18: "LoitTurns",
    19: "LoitTime",
    20: "RTL",
    21: "Land",
    22: "Takeoff",
    82: "SplineWP",
    93: "Delay",
    112: "CondDelay",
    114: "CondDist",
    115: "CondYaw",
    177: "Jump",
    178: "ChangeSpeed",
    179: "SetHome",
    181: "SetRelay",
    182: "RepeatRelay",
    183: "SetServo",
    184: "RepeatServo",
    201: "SetROI",
    203: "DigiCamCtrl",
    206: "CamTrigDist",
}
RELATIVE_FRAMES = frozenset({3, 6, 10, 11})  # relative to home (terrain frames too: no terrain)

MISSION_STATE_NO_MISSION = 1
MISSION_STATE_NOT_STARTED = 2
MISSION_STATE_ACTIVE = 3
MISSION_STATE_PAUSED = 4
MISSION_STATE_COMPLETE = 5


def is_nav(command: int) -> bool:
    return command < NAV_LAST


class AutoExecutor:
    """The mission runner: idle, running, paused or complete."""

    def __init__(self, ap: Autopilot) -> None:
        self.ap = ap
        self.items: list[Any] = []
        self.state = "idle"
        self.pos = 0  # index into items of the current command
        self.phase = "going"
        self.hold_until_s = 0.0
        self.speed_mps: float | None = None
        self.jumps_done: dict[int, int] = {}
        self._reached: int | None = None
        self._texts: list[str] = []

    # ---- what MISSION_CURRENT reports ----
    def mission_state(self) -> int:
        if not self.ap.host.mission_items():
            return MISSION_STATE_NO_MISSION
        return {
            "running": MISSION_STATE_ACTIVE,
            "paused": MISSION_STATE_PAUSED,
            "complete": MISSION_STATE_COMPLETE,
        }.get(self.state, MISSION_STATE_NOT_STARTED)

    def current_seq(self) -> int:
        if self.state == "complete":
            return 0
        if self.state in ("running", "paused") and self.pos < len(self.items):
            return int(self.items[self.pos].seq)
        return self.ap.host.mission_current_seq()

    @property
    def running(self) -> bool:
        return self.state == "running"

    # ---- control ----
    def can_start(self, airborne: bool) -> bool:
        items = self.ap.host.mission_items()
        if not items:
            return False
        if airborne:
            return True
        first_nav = next((i for i in items if is_nav(int(i.command))), None)
        return first_nav is not None and int(first_nav.command) == NAV_TAKEOFF

    def start_or_resume(self, now_s: float) -> None:
        self.items = list(self.ap.host.mission_items())
        if not self.items:
            self.state = "idle"
            return
        resume = self.state == "paused" and self.pos < len(self.items)
        if not resume:
            self.pos, self.jumps_done, self.speed_mps = 0, {}, None
            requested = self.ap.host.mission_current_seq()
            if self.state == "idle" and 1 < requested <= len(self.items):
                self.pos = requested - 1
        self.state = "running"
        self._begin(now_s)
        self._flush()

    def announce_current(self) -> None:
        """``Mission: <seq> <name>`` for the current command again (MISSION_START sends the
        first command's text twice)."""
        if self.state == "running" and self.pos < len(self.items):
            item = self.items[self.pos]
            name = COMMAND_NAMES.get(int(item.command), int(item.command))
            self.ap.host.statustext(SEV_INFO, f"Mission: {item.seq} {name}")

    def jump_to(self, seq: int, now_s: float) -> bool:
        index = self._index_of(seq)
        if index is None:
            return False
        self.pos = index
        if self.state == "running":
            self._begin(now_s)
            self._flush()
        return True

    def pause(self) -> None:
        if self.state == "running":
            self.state = "paused"

    def mission_changed(self) -> None:
        self.items = list(self.ap.host.mission_items())
        if self.state in ("complete", "idle") or not self.items:
            self.state, self.pos = "idle", 0
        elif self.pos >= len(self.items):
            self.pos = len(self.items) - 1

    def on_disarm(self) -> None:
        """Landing at the end of an RTL or LAND command completes it (and the mission)."""
        if self.state != "running" or self.pos >= len(self.items):
            return
        command = int(self.items[self.pos].command)
        if command in (NAV_RETURN_TO_LAUNCH, NAV_LAND) and not self.ap.airborne:
            self._reached = int(self.items[self.pos].seq)
            self._flush()
            self.state = "complete"
        else:
            self.state = "paused"

    # ---- running ----
    def step(self, now_s: float) -> None:
        if self.state != "running" or self.pos >= len(self.items):
            return
        item = self.items[self.pos]
        command = int(item.command)
        if command == NAV_RETURN_TO_LAUNCH:
            self.ap.rtl.step(self.ap.flight, now_s)
        if self._nav_done(item, now_s):
            self._finish_current(now_s)
            self._flush()

    def _nav_done(self, item: Any, now_s: float) -> bool:
        command, flight = int(item.command), self.ap.flight
        if command == NAV_TAKEOFF:
            target = flight.target
            return target is None or (
                self.ap.airborne and abs(target.alt_m - flight.body.alt_m) < 0.1
            )
        if command in (NAV_LAND, NAV_LOITER_UNLIM):
            return False
        if command == NAV_RETURN_TO_LAUNCH:
            return self.ap.rtl.phase == "hover" and flight.reached(0.5, 0.5)
        if command == NAV_DELAY:
            return now_s >= self.hold_until_s
        if self.phase == "going":
            radius_m = max(self.ap.host.param("WPNAV_RADIUS") / 100.0, 0.5)
            if not flight.reached(radius_m):
                return False
            self.phase, self.hold_until_s = "holding", now_s + self._hold_s(item)
        return now_s >= self.hold_until_s

    def _hold_s(self, item: Any) -> float:
        if int(item.command) in (NAV_WAYPOINT, NAV_LOITER_TIME, NAV_SPLINE_WAYPOINT):
            return max(float(item.param1), 0.0)
        return 0.0

    def _finish_current(self, now_s: float) -> None:
        item = self.items[self.pos]
        if int(item.command) in (NAV_WAYPOINT, NAV_SPLINE_WAYPOINT):
            self._texts.append(f"Reached command #{item.seq}")
        self._reached = int(item.seq)
        self.pos += 1
        self._begin(now_s)

    def _begin(self, now_s: float) -> None:
        """Run DO commands from ``pos`` until a NAV command starts (or the mission ends)."""
        guard = 0
        while self.pos < len(self.items):
            guard += 1
            if guard > 10 * len(self.items) + 10:  # a DO_JUMP loop with no NAV command
                break
            item = self.items[self.pos]
            command = int(item.command)
            self._texts.append(f"Mission: {item.seq} {COMMAND_NAMES.get(command, command)}")
            self.ap.host.mission_set_current(int(item.seq))
            if is_nav(command):
                self._start_nav(item, now_s)
                return
            self._do(item)
        self.state = "complete"
        self.ap.flight.hold()

    def _do(self, item: Any) -> None:
        command = int(item.command)
        self._reached = int(item.seq)
        if command == DO_CHANGE_SPEED and float(item.param2) > 0:
            self.speed_mps = float(item.param2)
        if command == DO_SET_HOME:
            self._set_home(item)
        if command == DO_JUMP and self._jump(item):
            return
        self.pos += 1

    def _jump(self, item: Any) -> bool:
        target = self._index_of(int(item.param1))
        repeats = int(item.param2)
        done = self.jumps_done.get(int(item.seq), 0)
        if target is None or (0 <= repeats <= done):
            return False
        self.jumps_done[int(item.seq)] = done + 1
        self.pos = target
        return True

    def _set_home(self, item: Any) -> None:
        if float(item.param1) == 1 or (item.x == 0 and item.y == 0):
            self.ap.set_home_here()
        else:
            self.ap.home = self._target(item)
        self.ap.host.announce_home()

    def _index_of(self, seq: int) -> int | None:
        return next((i for i, it in enumerate(self.items) if int(it.seq) == seq), None)

    def _start_nav(self, item: Any, now_s: float) -> None:
        ap, command = self.ap, int(item.command)
        self.phase = "going"
        if command == NAV_TAKEOFF:
            self._takeoff(item, now_s)
        elif command == NAV_RETURN_TO_LAUNCH:
            ap.start_rtl(now_s)
        elif command == NAV_LAND:
            self._land(item)
        elif command == NAV_DELAY:
            self.hold_until_s = now_s + max(float(item.param1), 0.0)
            ap.flight.hold()
        else:
            target = self._target(item)
            target.speed_mps = self.speed_mps
            ap.flight.goto(target)

    def _takeoff(self, item: Any, now_s: float) -> None:
        flight, target = self.ap.flight, self._target(item)
        if not self.ap.airborne:
            flight.takeoff(target.alt_m, now_s, self.ap.armed_at_s)
        elif target.alt_m > flight.body.alt_m:
            body = flight.body
            flight.goto(Target(body.north_m, body.east_m, target.alt_m), report=False)
        else:
            flight.target = None

    def _land(self, item: Any) -> None:
        if item.x == 0 and item.y == 0:
            self.ap.flight.land()
            return
        target = self._target(item)
        self.ap.flight.land(target.north_m, target.east_m)

    def _target(self, item: Any) -> Target:
        """The item's location (0/0: here; altitude 0: the current altitude)."""
        ap, body = self.ap, self.ap.flight.body
        if item.x == 0 and item.y == 0:
            north, east = body.north_m, body.east_m
        else:
            north, east = ap.origin.to_ne(item.x * 1e-7, item.y * 1e-7)
        home_alt = ap.home.alt_m if ap.home else ap.origin.alt_amsl_m
        z = float(item.z)
        if z == 0 and int(item.command) != NAV_TAKEOFF:
            alt = body.alt_m
        elif int(item.frame) in RELATIVE_FRAMES:
            alt = home_alt + z
        else:
            alt = z
        return Target(north, east, alt if math.isfinite(alt) else body.alt_m)

    def _flush(self) -> None:
        host = self.ap.host
        if self._reached is not None:
            host.item_reached(self._reached)
            self._reached = None
        for text in self._texts:
            host.statustext(SEV_INFO, text)
        self._texts.clear()
