"""Parameters by name: PARAM_SET confirmed by its PARAM_VALUE echo, PARAM_REQUEST_READ.

Observed (fence trace): each PARAM_SET is echoed once, 4-7 ms later, by a PARAM_VALUE with
param_index 65535; the echo's param_type may differ from the list's (REAL32 for an unchanged
INT8), so only names and values are compared, as float32. ArduPilot ignores the type a
PARAM_SET carries, so values are sent as REAL32.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

from uav.link.connection import DroneLink, Subscription
from uav.link.errors import ParamRejected, WaitTimeout

MAV_PARAM_TYPE_REAL32 = 9
PARAM_NAME_MAX = 16
REPLY_TIMEOUT_S = 1.5  # wall seconds per attempt
ATTEMPTS = 3


def float32(value: float) -> float:
    """The value as a MAVLink float field carries it."""
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def set_params(
    link: DroneLink,
    values: Mapping[str, float],
    *,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    attempts: int = ATTEMPTS,
) -> dict[str, float]:
    """Set each parameter and confirm its echo; returns the echoed values. Raises
    :class:`ParamRejected` when an echo shows another value, WaitTimeout when none comes
    (an unknown name is not answered at all)."""
    confirmed: dict[str, float] = {}
    with link.subscribe("PARAM_VALUE") as replies:
        for name, value in values.items():
            key = _checked_name(name, value)
            confirmed[key] = _set_one(link, replies, key, float(value), reply_timeout_s, attempts)
    return confirmed


def get_params(
    link: DroneLink,
    names: Iterable[str],
    *,
    reply_timeout_s: float = REPLY_TIMEOUT_S,
    attempts: int = ATTEMPTS,
) -> dict[str, float]:
    """Read parameters by name (PARAM_REQUEST_READ with index -1)."""
    values: dict[str, float] = {}
    with link.subscribe("PARAM_VALUE") as replies:
        for name in names:
            key = _checked_name(name, 0.0)
            request = link.mav.param_request_read_encode(
                link.target_system, link.target_component, key.encode(), -1
            )
            reply = _ask(link, replies, request, key, reply_timeout_s, attempts)
            values[key] = float(reply.param_value)
    return values


def _checked_name(name: str, value: float) -> str:
    key = name.strip().upper()
    if not key or len(key) > PARAM_NAME_MAX:
        raise ParamRejected(name, value, None, f"a name has 1 to {PARAM_NAME_MAX} characters")
    return key


def _set_one(
    link: DroneLink, replies: Subscription, name: str, value: float, timeout_s: float, attempts: int
) -> float:
    request = link.mav.param_set_encode(
        link.target_system, link.target_component, name.encode(), value, MAV_PARAM_TYPE_REAL32
    )
    reply = _ask(link, replies, request, name, timeout_s, attempts)
    echoed = float(reply.param_value)
    if float32(echoed) != float32(value):
        raise ParamRejected(name, value, echoed)
    return echoed


def _ask(
    link: DroneLink, replies: Subscription, request: Any, name: str, timeout_s: float, attempts: int
) -> Any:
    for _ in range(attempts):
        link.send(request)
        deadline = time.monotonic() + timeout_s
        while (reply := replies.get(deadline - time.monotonic())) is not None:
            if reply.param_id == name:
                return reply
    raise WaitTimeout(
        f"PARAM_VALUE for {name}", link.state, timeout_s=timeout_s * attempts, clock="wall"
    )
