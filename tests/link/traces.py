"""The recorded ArduCopter SITL conversations (/work/shared/sitl-traces) as test fixtures.

Each entry pairs the JSONL line (time, direction, decoded fields) with the exact bytes the
client saw: the tlog packet for MAVLink, the hex of ``fields.data`` for console text.
:class:`Conversation` plays the vehicle's side of a recorded exchange to a live link.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from uav.link.transport import mavutil

SHARED = Path(__file__).resolve().parents[2].parent / "shared"  # beside the checkout
TRACES = Path(os.environ.get("UAV_SITL_TRACES", SHARED / "sitl-traces"))


@dataclass(frozen=True)
class Entry:
    t: float
    direction: str  # "rx" (from the vehicle) or "tx" (the recording client)
    type: str
    fields: dict[str, Any]
    raw: bytes
    link: str


def require_traces() -> None:
    if not (TRACES / "README.md").exists():
        pytest.skip(f"SITL traces not found in {TRACES}")


@cache
def load(scenario: str, link: str = "SERIAL0") -> tuple[Entry, ...]:
    require_traces()
    tlog = f"{scenario}-serial1.tlog" if link == "SERIAL1" else f"{scenario}.tlog"
    packets = iter(_tlog_packets(TRACES / tlog))
    entries: list[Entry] = []
    for line in (TRACES / f"{scenario}.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d.get("link", "SERIAL0") != link:
            continue
        if d["type"] == "BAD_DATA":
            raw = bytes.fromhex(d["fields"]["data"])
        else:
            packet = next(packets)
            assert packet.get_type() == d["type"] and packet.get_seq() == d["seq"], d
            raw = bytes(packet.get_msgbuf())
        entries.append(Entry(d["t"], d["dir"], d["type"], d["fields"], raw, link))
    return tuple(entries)


def _tlog_packets(path: Path) -> list[Any]:
    log = mavutil.mavlink_connection(str(path), robust_parsing=True)
    try:
        packets = []
        while (msg := log.recv_msg()) is not None:
            if msg.get_type() != "BAD_DATA":
                packets.append(msg)
        return packets
    finally:
        log.close()


@cache
def facts(scenario: str) -> dict[str, Any]:
    require_traces()
    data: dict[str, Any] = json.loads((TRACES / f"{scenario}.facts.json").read_text())
    return data


def step_time(scenario: str, prefix: str) -> float:
    """The time of the recorded step whose text starts with ``prefix`` ("A:", "D1:")."""
    for step in facts(scenario)["steps"]:
        if step["text"].startswith(prefix):
            return float(step["t"])
    raise KeyError(prefix)


def steps(scenario: str, first: str, until: str | None = None) -> list[Entry]:
    """The entries from the recorded step whose text starts with ``first`` up to the one
    starting with ``until`` (or the end). Step times are rounded to the millisecond."""
    t0 = step_time(scenario, first) - 0.001
    t1 = step_time(scenario, until) - 0.001 if until is not None else float("inf")
    return between(load(scenario), t0, t1)


def exchange(scenario: str, first: str, until: str | None, *, start: str) -> list[Entry]:
    """One recorded exchange: from the client's first ``start`` message of step ``first`` to
    the client's first message of step ``until`` (a step's time is taken just after its
    first message went out, so trailing messages of the step before share its millisecond)."""
    entries = load(scenario)
    t0 = step_time(scenario, first) - 0.002
    i0 = next(
        i for i, e in enumerate(entries) if e.t >= t0 and e.direction == "tx" and e.type == start
    )
    start_t = entries[i0].t
    if until is None:
        i1 = len(entries)
    else:
        t1 = step_time(scenario, until) - 0.002
        i1 = next(
            i
            for i, e in enumerate(entries)
            if i > i0 and e.t >= t1 and e.direction == "tx" and e.type not in HOUSEKEEPING
        )
    # The vehicle answers 1 ms or more after a request, so its messages within 1 ms after a
    # client message still belong to what came before: move them across the cut.
    head = [
        e
        for e in entries[i0 + 1 : i1]
        if not (e.direction == "rx" and e.t < start_t + SAME_BURST_S)
    ]
    tail = []
    if i1 < len(entries):
        end_t = entries[i1].t
        tail = [e for e in entries[i1:] if e.direction == "rx" and e.t < end_t + SAME_BURST_S]
    return [entries[i0], *head, *tail]


def between(entries: tuple[Entry, ...], t0: float, t1: float) -> list[Entry]:
    return [e for e in entries if t0 <= e.t < t1]


def rx(entries: list[Entry] | tuple[Entry, ...], msg_type: str | None = None) -> list[Entry]:
    return [e for e in entries if e.direction == "rx" and (msg_type is None or e.type == msg_type)]


def tx(entries: list[Entry] | tuple[Entry, ...], msg_type: str | None = None) -> list[Entry]:
    return [e for e in entries if e.direction == "tx" and (msg_type is None or e.type == msg_type)]


# ---------------------------------------------------------------------- conversation replay

_KEYS: dict[str, tuple[str, ...]] = {
    "MISSION_COUNT": ("count", "mission_type"),
    "MISSION_ITEM_INT": ("seq", "mission_type"),
    "MISSION_REQUEST_INT": ("seq", "mission_type"),
    "MISSION_REQUEST_LIST": ("mission_type",),
    "MISSION_ACK": ("type", "mission_type"),
    "MISSION_CLEAR_ALL": ("mission_type",),
    "COMMAND_LONG": ("command", "param1", "param2"),
    "PARAM_SET": ("param_id",),
    "PARAM_REQUEST_READ": ("param_id",),
    "SET_POSITION_TARGET_GLOBAL_INT": ("coordinate_frame", "type_mask", "lat_int", "lon_int"),
}
HOUSEKEEPING = frozenset({"HEARTBEAT"})
SAME_BURST_S = 0.001


def key_of(msg_type: str, fields: dict[str, Any]) -> tuple[Any, ...]:
    return (msg_type, *(fields[k] for k in _KEYS.get(msg_type, ())))


def msg_key(msg: Any) -> tuple[Any, ...]:
    return key_of(msg.get_type(), msg.to_dict())


class Conversation:
    """Plays the vehicle's side of recorded entries: when the link sends what the recording
    client sent next, the vehicle's recorded answers up to the client's next message go back
    as the recorded bytes. Messages of other types from the link are ignored."""

    def __init__(self, entries: list[Entry], *, not_sent: frozenset[str] = frozenset()) -> None:
        """``not_sent``: message types the recording client sent that the link does not (their
        entries are dropped, so the vehicle's answers around them flow on)."""
        entries = [e for e in entries if not (e.direction == "tx" and e.type in not_sent)]
        self.expected = [e for e in entries if e.direction == "tx" and e.type not in HOUSEKEEPING]
        self.types = {e.type for e in self.expected}
        self._entries = entries
        self._pos = 0  # next entry to look at
        self.unmatched: list[Any] = []
        self._done = threading.Event()
        if not self.expected:
            self._done.set()

    @property
    def done(self) -> bool:
        return not self.expected

    def wait_done(self, timeout_s: float = 2.0) -> bool:
        """True once every recorded client message has been matched (bounded wait)."""
        return self._done.wait(timeout_s)

    def opening(self) -> list[bytes]:
        """The vehicle's recorded messages before the client's first one."""
        return self._answers_until_next_tx()

    def react(self, msg: Any) -> list[bytes]:
        if msg.get_type() not in self.types:
            return []
        if not self.expected or msg_key(msg) != key_of(
            self.expected[0].type, self.expected[0].fields
        ):
            self.unmatched.append(msg)
            return []
        matched = self.expected.pop(0)
        if not self.expected:
            self._done.set()
        self._pos = self._entries.index(matched) + 1
        return self._answers_until_next_tx()

    def _answers_until_next_tx(self) -> list[bytes]:
        out: list[bytes] = []
        while self._pos < len(self._entries):
            entry = self._entries[self._pos]
            if entry.direction == "tx" and entry.type not in HOUSEKEEPING:
                break
            if entry.direction == "rx":
                out.append(entry.raw)
            self._pos += 1
        return out

    def install(self, fake: Any) -> Conversation:
        fake.on("*", self.react)
        fake.send(*self.opening())
        return self
