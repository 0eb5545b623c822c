"""What the monitor records and acts with: enforcement events, actions, options.

An :class:`EnforcementEvent` is one decision or alert of ``uav monitor``: an action sent (or
a warning when the action is ``warn``), an escalation to BRAKE, a drone that stopped
reporting, a drone that is back. It goes to the database (``uav events``) and, with
``--json-log``, to one JSON line per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the monitor does before a breach; ``warn`` sends nothing."""

    RTL = "rtl"
    BRAKE = "brake"
    LOITER = "loiter"
    LAND = "land"
    WARN = "warn"

    @property
    def mode(self) -> str | None:
        """The ArduCopter flight mode the action switches to (None for ``warn``)."""
        return None if self is Action.WARN else self.value.upper()


class EventKind(StrEnum):
    ACTION = "action"  # the action was sent (or the drone was already in its mode)
    WARN = "warn"  # --action warn: recorded and shown, nothing sent
    ESCALATE = "escalate"  # in the action's mode and still going to breach: BRAKE
    LOST = "lost"  # the drone stopped reporting (link lost, or no position for a while)
    BACK = "back"  # a lost drone reports again
    UNCERTAIN = "uncertain"  # the drone's state could not be judged (e.g. CheckUncertain)


class Result(StrEnum):
    ACCEPTED = "accepted"  # COMMAND_ACK accepted and the HEARTBEAT shows the mode
    ALREADY = "already"  # the drone was already in the action's mode: nothing sent
    REFUSED = "refused"  # the vehicle refused (its texts in ``detail``)
    TIMEOUT = "timeout"  # no ACK, or the mode did not show in time
    LINK_LOST = "link-lost"  # the link went down while acting
    NOT_SENT = "not-sent"  # warn, and alerts


FAILED_RESULTS = frozenset({Result.REFUSED, Result.TIMEOUT, Result.LINK_LOST})


@dataclass(frozen=True)
class Position:
    """A drone position; ``alt_m`` above home (take-off point)."""

    lat_deg: float
    lon_deg: float
    alt_m: float

    def to_json(self) -> dict[str, float]:
        return {
            "lat_deg": round(self.lat_deg, 7),
            "lon_deg": round(self.lon_deg, 7),
            "alt_m": round(self.alt_m, 2),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Position | None:
        if d is None:
            return None
        return cls(float(d["lat_deg"]), float(d["lon_deg"]), float(d["alt_m"]))


@dataclass(frozen=True)
class EnforcementEvent:
    """One event of ``uav monitor``. Times: ``time`` on the ground clock (UTC);
    ``vehicle_unix_s`` the vehicle's UTC at the decision (None without one)."""

    drone: str
    kind: EventKind
    time: datetime
    zone_id: int | None = None
    zone_name: str | None = None
    restriction: str | None = None
    rule: str | None = None  # enters-zone, above-ceiling, outside-operating-area, within-buffer
    reason: str = ""
    time_to_breach_s: float | None = None
    clearance_m: float | None = None
    predicted: Position | None = None  # where the drone would have broken the rule
    actual: Position | None = None  # where it was at the decision
    groundspeed_mps: float | None = None
    mode_before: str | None = None
    action: str | None = None  # the flight mode sent (RTL, BRAKE, ...), None: nothing sent
    result: Result = Result.NOT_SENT
    detail: str = ""  # the vehicle's refusal texts, the link's words, ...
    latency_sent_ms: float | None = None  # telemetry arrival -> command sent
    latency_confirmed_ms: float | None = None  # telemetry arrival -> mode confirmed
    vehicle_unix_s: float | None = None
    clock: str = "vehicle"  # which clock judged the schedules: vehicle or ground
    id: int | None = field(default=None, compare=False)

    @property
    def failed(self) -> bool:
        return self.result in FAILED_RESULTS

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Position):
                value = value.to_json()
            elif isinstance(value, datetime):
                value = value.isoformat(timespec="milliseconds")
            elif isinstance(value, float):
                value = round(value, 3)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EnforcementEvent:
        values = dict(d)
        values["kind"] = EventKind(values["kind"])
        values["result"] = Result(values["result"])
        values["time"] = datetime.fromisoformat(values["time"])
        values["predicted"] = Position.from_json(values.get("predicted"))
        values["actual"] = Position.from_json(values.get("actual"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
