"""A stand-in vehicle core for testing the mission, fence and traffic parts on their own.

:class:`FakeServices` implements ``VehicleServices`` with a clock the test advances, and
:class:`FakeLink` implements ``LinkPort``: every message a part sends is packed into real
MAVLink 2 bytes by a pymavlink encoder (vehicle sysid/compid 1/1) and decoded again as the
ground station would see it, so tests assert on what goes over the wire. Client messages are
built the same way from the client's side (sysid 255, compid 190).

Also here: readers for the recorded SITL traces and a field-by-field comparison of a decoded
message with a recorded one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from uav.sim.interfaces import Position

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "sitl-traces"  # beside checkout
VEHICLE_IDS = (1, 1)
CLIENT_IDS = (255, 190)
GCS_HEARTBEAT = {
    "type": 6,
    "autopilot": 8,
    "base_mode": 0,
    "custom_mode": 0,
    "system_status": 4,
    "mavlink_version": 3,
}


class _Sink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(bytes(data))


def _parse(data: bytes) -> list[Any]:
    parser = mavlink2.MAVLink(None)
    parser.robust_parsing = False
    msgs = parser.parse_buffer(data) or []
    assert data[0] == 0xFD, "not a MAVLink 2 packet"
    return msgs


class Encoder:
    """Packs messages with given source ids and decodes them back (a real wire round trip)."""

    def __init__(self, sysid: int, compid: int) -> None:
        self._sink = _Sink()
        self.mav = mavlink2.MAVLink(self._sink, srcSystem=sysid, srcComponent=compid)

    def round_trip(self, msg: Any) -> Any:
        self._sink.chunks.clear()
        self.mav.send(msg)
        (decoded,) = _parse(b"".join(self._sink.chunks))
        return decoded

    def build(self, type_name: str, **fields: Any) -> Any:
        """A message of ``type_name`` from keyword fields, after a wire round trip."""
        cls = mavlink2.mavlink_map[getattr(mavlink2, f"MAVLINK_MSG_ID_{type_name}")]
        args = [_to_wire(fields[n], t, a) for n, t, a in _field_specs(cls)]
        return self.round_trip(cls(*args))

    def from_trace(self, row: dict[str, Any]) -> Any:
        return self.build(row["type"], **row["fields"])


def _field_specs(cls: Any) -> Iterator[tuple[str, str, int]]:
    types = dict(zip(cls.fieldnames, cls.fieldtypes, strict=True))
    lengths = dict(zip(cls.ordered_fieldnames, cls.array_lengths, strict=True))
    for name in cls.fieldnames:
        yield name, types[name], lengths[name]


def _to_wire(value: Any, type_name: str, length: int) -> Any:
    if type_name == "char":
        return str(value).encode("latin-1")
    if length and type_name in ("uint8_t", "int8_t") and isinstance(value, str):
        return list(bytes.fromhex(value))
    if isinstance(value, str):  # "NaN", "Infinity", "-Infinity"
        return float(value)
    if isinstance(value, list):
        return [float(v) if isinstance(v, str) else v for v in value]
    return value


@dataclass
class Sent:
    t: float
    link: int
    msg: Any

    @property
    def type(self) -> str:
        return str(self.msg.get_type())


class FakeLink:
    """One vehicle link; records every message sent on it, decoded from real bytes."""

    def __init__(self, index: int, services: FakeServices) -> None:
        self.index = index
        self._services = services
        self._encoder = Encoder(*VEHICLE_IDS)
        self.mav = self._encoder.mav

    def send(self, msg: Any) -> None:
        decoded = self._encoder.round_trip(msg)
        self._services.log.append(Sent(self._services.now, self.index, decoded))


@dataclass
class FakeServices:
    """``VehicleServices`` with settable state; ``log`` holds everything sent, in order."""

    params: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    now: float = 0.0
    home_value: tuple[float, float, float] | None = None
    pos: Position | None = None
    armed: bool = False
    mode: int = 0
    refused_modes: set[int] = field(default_factory=set)
    mode_requests: list[tuple[float, int, bool]] = field(default_factory=list)
    mission_changes: list[tuple[float, int]] = field(default_factory=list)
    log: list[Sent] = field(default_factory=list)
    link_count: int = 1

    def __post_init__(self) -> None:
        self.links = [FakeLink(i, self) for i in range(self.link_count)]

    def now_s(self) -> float:
        return self.now

    def param(self, name: str) -> float:
        return self.params[name]

    def statustext(self, severity: int, text: str) -> None:
        for link in self.links:
            link.send(link.mav.statustext_encode(severity, text.encode()))

    def broadcast(self, msg: Any) -> None:
        for link in self.links:
            link.send(msg)

    def home(self) -> tuple[float, float, float] | None:
        return self.home_value

    def position(self) -> Position | None:
        return self.pos

    def is_armed(self) -> bool:
        return self.armed

    def custom_mode(self) -> int:
        return self.mode

    def set_mode(self, custom_mode: int) -> bool:
        accepted = custom_mode not in self.refused_modes
        self.mode_requests.append((self.now, custom_mode, accepted))
        if accepted:
            self.mode = custom_mode
        return accepted

    def mission_changed(self, mission_type: int) -> None:
        self.mission_changes.append((self.now, mission_type))

    # ---- helpers for tests

    def sent(self, *types: str, link: int = 0) -> list[Sent]:
        return [s for s in self.log if s.link == link and (not types or s.type in types)]

    def texts(self) -> list[tuple[int, str]]:
        return [(s.msg.severity, s.msg.text) for s in self.sent("STATUSTEXT")]


class MissionClient:
    """A ground station driving a MissionServer over a fake link (sysid 255, compid 190)."""

    def __init__(self, services: FakeServices, server: Any, link: int = 0) -> None:
        self.services = services
        self.server = server
        self.link = services.links[link]
        self.encoder = Encoder(*CLIENT_IDS)

    def send(self, type_name: str, **fields: Any) -> bool:
        fields.setdefault("target_system", 1)
        fields.setdefault("target_component", 1)
        return self.server.handle(self.encoder.build(type_name, **fields), self.link)

    def last(self, type_name: str) -> Any:
        return [s.msg for s in self.services.sent(type_name, link=self.link.index)][-1]

    def upload(self, items: list[dict[str, Any]], mission_type: int = 0) -> int:
        """A complete upload answering each MISSION_REQUEST; returns the final ACK code."""
        start = len(self.services.log)
        self.send("MISSION_COUNT", count=len(items), mission_type=mission_type)
        answered = 0
        while True:
            new = [s.msg for s in self.services.log[start:] if s.link == self.link.index]
            acks = [m for m in new if m.get_type() == "MISSION_ACK"]
            if acks:
                return int(acks[-1].type)
            requests = [m for m in new if m.get_type() == "MISSION_REQUEST"]
            assert len(requests) > answered, "the server stopped asking"
            seq = requests[answered].seq
            answered += 1
            self.send("MISSION_ITEM_INT", **items[seq])

    def download(self, mission_type: int = 0) -> list[Any]:
        self.send("MISSION_REQUEST_LIST", mission_type=mission_type)
        count = self.last("MISSION_COUNT").count
        items = []
        for seq in range(count):
            self.send("MISSION_REQUEST_INT", seq=seq, mission_type=mission_type)
            items.append(self.last("MISSION_ITEM_INT"))
        return items


def _load_default_params() -> dict[str, float]:
    params: dict[str, float] = {}
    for line in (TRACES / "params-default.tsv").read_text().splitlines():
        name, value, _ = line.split("\t")
        if name != "name":
            params[name] = float(value)
    return params


DEFAULT_PARAMS = _load_default_params()


def load_trace(name: str) -> list[dict[str, Any]]:
    """The recorded conversation ``<name>.jsonl``, without the non-MAVLink bytes."""
    rows = [json.loads(line) for line in (TRACES / f"{name}.jsonl").read_text().splitlines()]
    return [r for r in rows if r["type"] != "BAD_DATA"]


def mismatches(recorded: dict[str, Any], msg: Any, skip: Iterable[str] = ()) -> list[str]:
    """Fields of a recorded message (JSONL encoding) that differ in a decoded message."""
    bad = []
    for name, want in recorded.items():
        if name in skip:
            continue
        got = getattr(msg, name)
        if not _same(want, got):
            bad.append(f"{name}: recorded {want!r}, got {got!r}")
    return bad


def _same(want: Any, got: Any) -> bool:
    if isinstance(got, list) and isinstance(want, str):
        return bytes(got).hex() == want
    if isinstance(got, float) or isinstance(want, float):
        want_f = float(want)
        if math.isnan(want_f):
            return math.isnan(got)
        return bool(np.float32(want_f) == np.float32(got))
    return bool(want == got)


def run_until(
    services: FakeServices, t_end: float, step_s: float, each_step: Callable[[], None]
) -> None:
    """Advance the fake clock to ``t_end`` in steps, calling ``each_step`` after each."""
    while services.now + step_s <= t_end + 1e-9:
        services.now = round(services.now + step_s, 9)
        each_step()
    if services.now < t_end:
        services.now = t_end
        each_step()
