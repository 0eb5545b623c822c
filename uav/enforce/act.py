"""Acting on one drone: its link (timing what it sends), the position rate, the mode switch.

:class:`TimedLink` is a :class:`~uav.link.DroneLink` that notes when the first COMMAND_LONG
after a mark left, so an event's latency runs to the moment the command was really sent.
:func:`switch_mode` is :func:`uav.link.commands.set_mode` (COMMAND_ACK, then the HEARTBEAT
showing the mode, bounded on the vehicle clock) with its outcome as a :class:`Outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uav.enforce.model import Result
from uav.link import DroneLink
from uav.link.commands import command_long, set_mode
from uav.link.errors import CommandRefused, LinkError, LinkLost, WaitTimeout

MAV_CMD_SET_MESSAGE_INTERVAL = 511
MSG_GLOBAL_POSITION_INT = 33
MSG_SYSTEM_TIME = 2
MAV_DATA_STREAM_POSITION = 6
COMMAND_LONG = "COMMAND_LONG"


class TimedLink(DroneLink):
    """A DroneLink that records (``time.perf_counter``) when a COMMAND_LONG is sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_sent_s: float | None = None
        self.on_command_sent: Callable[[], None] | None = None  # after the first one left

    def mark(self) -> None:
        """Forget the last command: :attr:`command_sent_s` is the next one's send time."""
        self.command_sent_s = None

    def send(self, msg: Any) -> None:
        first = msg.get_type() == COMMAND_LONG and self.command_sent_s is None
        sent_s = time.perf_counter()
        super().send(msg)
        if first:
            self.command_sent_s = sent_s
            if self.on_command_sent is not None:
                self.on_command_sent()


@dataclass(frozen=True)
class Outcome:
    result: Result
    detail: str = ""
    sent_s: float | None = None  # perf_counter when the command left
    confirmed_s: float | None = None  # perf_counter when the HEARTBEAT showed the mode


def switch_mode(link: TimedLink, mode: str, *, timeout_s: float) -> Outcome:
    """Switch the drone to ``mode`` and confirm it; never raises for the vehicle's or the
    link's failures (they are the outcome)."""
    link.mark()
    try:
        set_mode(link, mode, timeout_s=timeout_s)
    except CommandRefused as exc:
        return Outcome(Result.REFUSED, "; ".join(exc.texts) or str(exc), link.command_sent_s)
    except WaitTimeout as exc:
        return Outcome(Result.TIMEOUT, str(exc), link.command_sent_s)
    except LinkLost as exc:
        return Outcome(Result.LINK_LOST, str(exc), link.command_sent_s)
    except LinkError as exc:
        return Outcome(Result.LINK_LOST, str(exc), link.command_sent_s)
    return Outcome(Result.ACCEPTED, "", link.command_sent_s, time.perf_counter())


def request_monitor_messages(link: DroneLink, position_rate_hz: float) -> str | None:
    """What the monitor reads and nothing else: GLOBAL_POSITION_INT at ``position_rate_hz``
    and SYSTEM_TIME (the vehicle's UTC, for schedules) at 1 Hz, each by SET_MESSAGE_INTERVAL
    (ACKed); when that fails, the POSITION stream (REQUEST_DATA_STREAM). The monitor's link
    asks for no other stream, so it never changes what a ground station sharing the port
    receives, and reads ~12 messages a second per drone instead of a hundred. Returns what
    went wrong, or None."""
    problem = _request_interval(link, MSG_SYSTEM_TIME, 1.0)
    position = _request_interval(link, MSG_GLOBAL_POSITION_INT, position_rate_hz)
    if position is None:
        return problem
    try:
        link.send(
            link.mav.request_data_stream_encode(
                link.target_system,
                link.target_component,
                MAV_DATA_STREAM_POSITION,
                max(1, round(position_rate_hz)),
                1,
            )
        )
    except LinkError as exc:
        position += f"; REQUEST_DATA_STREAM: {exc}"
    return position if problem is None else f"{position}; {problem}"


def _request_interval(link: DroneLink, msg_id: int, rate_hz: float) -> str | None:
    try:
        command_long(link, MAV_CMD_SET_MESSAGE_INTERVAL, msg_id, round(1e6 / rate_hz))
        return None
    except LinkError as exc:
        return f"SET_MESSAGE_INTERVAL {msg_id}: {exc}"
