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


def request_position_rate(link: DroneLink, rate_hz: float) -> str | None:
    """GLOBAL_POSITION_INT at ``rate_hz`` (SET_MESSAGE_INTERVAL, ACKed); when that fails, the
    POSITION stream (REQUEST_DATA_STREAM). Returns what went wrong, or None."""
    interval_us = round(1e6 / rate_hz)
    try:
        command_long(link, MAV_CMD_SET_MESSAGE_INTERVAL, MSG_GLOBAL_POSITION_INT, interval_us)
        return None
    except LinkError as exc:
        problem = f"SET_MESSAGE_INTERVAL: {exc}"
    try:
        link.send(
            link.mav.request_data_stream_encode(
                link.target_system,
                link.target_component,
                MAV_DATA_STREAM_POSITION,
                max(1, round(rate_hz)),
                1,
            )
        )
    except LinkError as exc:
        problem += f"; REQUEST_DATA_STREAM: {exc}"
    return problem
