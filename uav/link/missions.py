"""The MAVLink mission protocol for missions (type 0), fences (1) and rally points (2).

Upload: MISSION_COUNT, then the vehicle asks for each item and the link answers with a
MISSION_ITEM_INT, whichever request message the vehicle uses (ArduCopter 4.7 asks with the
old MISSION_REQUEST; MISSION_REQUEST_INT is answered the same way). A request for an item
already sent (the vehicle re-asks 1 s after a lost item) is answered again. When nothing comes
after MISSION_COUNT the link sends it again. The transfer ends with the vehicle's MISSION_ACK:
ACCEPTED, or a refusal raised as :class:`MissionRejected` with the STATUSTEXTs that came with
it (``Only 650 items are supported``). INVALID_SEQUENCE is not fatal: the vehicle carries on
(trace mission E4).

Download: MISSION_REQUEST_LIST -> MISSION_COUNT, then MISSION_REQUEST_INT for each seq (sent
again when no answer comes), then the link's MISSION_ACK.

Reply timeouts are on the wall clock: the round trip does not speed up with the simulator.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from uav.errors import InputError
from uav.link.commands import collect_texts
from uav.link.connection import DroneLink, Subscription
from uav.link.errors import MissionMismatch, MissionRejected, WaitTimeout, mission_type_name
from uav.link.mission_items import (
    FENCE,
    MISSION,
    RALLY,
    MissionItemInt,
    difference,
    mission_items_to_plan_json,
    on_vehicle,
    plan_to_mission_items,
)

__all__ = [
    "FENCE",
    "MISSION",
    "RALLY",
    "MissionItemInt",
    "clear",
    "download",
    "mission_items_to_plan_json",
    "plan_to_mission_items",
    "upload",
    "verify",
]

MAV_MISSION_ACCEPTED = 0
MAV_MISSION_INVALID_SEQUENCE = 13
REPLY_TIMEOUT_S = 1.5  # wall seconds before MISSION_COUNT / a request is sent again
ATTEMPTS = 3
GAP_TIMEOUT_S = (
    3.0  # upload: no request for this long means the vehicle gave up (it re-asks every 1 s)
)

Progress = Callable[[int, int], None]
T = TypeVar("T")


def upload(
    link: DroneLink,
    mission_type: int,
    items: Sequence[MissionItemInt],
    *,
    progress: Progress | None = None,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    attempts: int = ATTEMPTS,
    gap_timeout_s: float = GAP_TIMEOUT_S,
) -> None:
    """Upload ``items`` (seq 0, 1, ... of one mission type); ``progress(done, total)`` is
    called as each item goes out for the first time."""
    _check_items(mission_type, items)
    total = len(items)
    name = mission_type_name(mission_type)
    text_mark = link.state.statustext_count
    count_msg = link.mav.mission_count_encode(
        link.target_system, link.target_component, total, mission_type
    )
    sent: set[int] = set()
    with link.subscribe("MISSION_REQUEST", "MISSION_REQUEST_INT", "MISSION_ACK") as replies:
        link.send(count_msg)
        count_sends = 1
        deadline = time.monotonic() + reply_timeout_s
        while True:
            msg = replies.get(deadline - time.monotonic())
            if msg is None and not sent and count_sends < attempts:
                link.send(count_msg)
                count_sends += 1
                deadline = time.monotonic() + reply_timeout_s
                continue
            if msg is None:
                what = f"{name} upload: the next request after {len(sent)} of {total} items"
                raise WaitTimeout(what, link.state, timeout_s=gap_timeout_s, clock="wall")
            if not _is_for(link, msg, mission_type):
                continue
            if msg.get_type() == "MISSION_ACK":
                if _upload_finished(msg, len(sent) == total, mission_type, link, text_mark):
                    return
                continue
            if 0 <= msg.seq < total:
                link.send(
                    items[msg.seq].encode(link.mav, link.target_system, link.target_component)
                )
                if msg.seq not in sent:
                    sent.add(msg.seq)
                    if progress is not None:
                        progress(len(sent), total)
                deadline = time.monotonic() + gap_timeout_s


def _upload_finished(
    ack: Any, all_sent: bool, mission_type: int, link: DroneLink, text_mark: int
) -> bool:
    """True on the final ACCEPTED; raises on a refusal; False for ACKs the transfer outlives."""
    if ack.type == MAV_MISSION_ACCEPTED:
        return all_sent  # an ACCEPTED before every item went out belongs to an earlier transfer
    if ack.type == MAV_MISSION_INVALID_SEQUENCE:
        return False
    raise MissionRejected(mission_type, ack.type, collect_texts(link, text_mark))


def download(
    link: DroneLink,
    mission_type: int = MISSION,
    *,
    progress: Progress | None = None,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    attempts: int = ATTEMPTS,
) -> list[MissionItemInt]:
    """Download everything of one mission type (for a mission, seq 0 is the vehicle's home)."""
    tsys, tcomp = link.target_system, link.target_component
    mav = link.mav
    types = ("MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK")
    with link.subscribe(*types) as replies:
        ask = _Asker(link, replies, mission_type, reply_timeout_s, attempts)
        count: int = ask(
            mav.mission_request_list_encode(tsys, tcomp, mission_type),
            lambda m: m.count if m.get_type() == "MISSION_COUNT" else None,
            "MISSION_COUNT",
        )
        items: list[MissionItemInt] = []
        for seq in range(count):
            item = ask(
                mav.mission_request_int_encode(tsys, tcomp, seq, mission_type),
                functools.partial(_item_if, seq=seq),
                f"item {seq} of {count}",
            )
            items.append(item)
            if progress is not None:
                progress(seq + 1, count)
        link.send(mav.mission_ack_encode(tsys, tcomp, MAV_MISSION_ACCEPTED, mission_type))
    return items


def clear(
    link: DroneLink,
    mission_type: int = MISSION,
    *,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    attempts: int = ATTEMPTS,
) -> None:
    """MISSION_CLEAR_ALL for one mission type, confirmed by MISSION_ACK ACCEPTED."""
    with link.subscribe("MISSION_ACK") as replies:
        ask = _Asker(link, replies, mission_type, reply_timeout_s, attempts)
        ask(
            link.mav.mission_clear_all_encode(
                link.target_system, link.target_component, mission_type
            ),
            lambda m: True if m.type == MAV_MISSION_ACCEPTED else None,
            "MISSION_ACK",
        )


def verify(
    link: DroneLink,
    mission_type: int,
    uploaded: Sequence[MissionItemInt],
    *,
    progress: Progress | None = None,
) -> list[MissionItemInt]:
    """Download and compare with what was uploaded, after the vehicle's known normalisation
    (:func:`~uav.link.mission_items.on_vehicle`); a mission's seq 0 (home) is not compared.
    Returns the download; raises :class:`MissionMismatch` on the first difference."""
    got = download(link, mission_type, progress=progress)
    if len(got) != len(uploaded):
        detail = f"the vehicle holds {len(got)} items where {len(uploaded)} were uploaded"
        raise MissionMismatch(mission_type, detail)
    for want, have in zip(uploaded, got, strict=True):
        if mission_type == MISSION and want.seq == 0:
            continue
        diff = difference(on_vehicle(want), have)
        if diff is not None:
            raise MissionMismatch(mission_type, diff)
    return got


class _Asker:
    """Send a request and wait for the answer that ``pick`` accepts, sending it again when
    nothing comes; a refusing MISSION_ACK of the same mission type raises MissionRejected."""

    def __init__(
        self,
        link: DroneLink,
        replies: Subscription,
        mission_type: int,
        timeout_s: float,
        attempts: int,
    ) -> None:
        self.link = link
        self.replies = replies
        self.mission_type = mission_type
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.text_mark = link.state.statustext_count

    def __call__(self, request: Any, pick: Callable[[Any], T | None], what: str) -> T:
        for _ in range(self.attempts):
            self.link.send(request)
            deadline = time.monotonic() + self.timeout_s
            while (msg := self.replies.get(deadline - time.monotonic())) is not None:
                if not _is_for(self.link, msg, self.mission_type):
                    continue
                picked = pick(msg)
                if picked is not None:
                    return picked
                if msg.get_type() == "MISSION_ACK" and msg.type != MAV_MISSION_ACCEPTED:
                    texts = collect_texts(self.link, self.text_mark)
                    raise MissionRejected(self.mission_type, msg.type, texts)
        name = mission_type_name(self.mission_type)
        raise WaitTimeout(
            f"{name} transfer: {what}",
            self.link.state,
            timeout_s=self.timeout_s * self.attempts,
            clock="wall",
        )


def _is_for(link: DroneLink, msg: Any, mission_type: int) -> bool:
    ours = getattr(msg, "target_system", 0) in (0, link.config.source_system)
    return ours and getattr(msg, "mission_type", MISSION) == mission_type


def _item_if(msg: Any, seq: int) -> MissionItemInt | None:
    if msg.get_type() in ("MISSION_ITEM_INT", "MISSION_ITEM") and msg.seq == seq:
        return MissionItemInt.from_message(msg)
    return None


def _check_items(mission_type: int, items: Sequence[MissionItemInt]) -> None:
    if mission_type not in (MISSION, FENCE, RALLY):
        raise InputError(f"unknown mission type {mission_type}")
    for index, item in enumerate(items):
        if item.seq != index or item.mission_type != mission_type:
            raise InputError(
                f"item {index} has seq {item.seq} and mission type {item.mission_type}: "
                f"items must be numbered 0, 1, ... and all of mission type {mission_type}"
            )
