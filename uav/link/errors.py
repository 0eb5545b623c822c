"""Errors of the ground-station link. All derive from :class:`LinkError` (a :class:`UavError`).

Each carries what a caller needs to explain the failure: the last vehicle state seen, the
vehicle's refusal code and the STATUSTEXTs it sent with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uav.errors import InputError, UavError

if TYPE_CHECKING:
    from uav.link.state import VehicleState


class LinkError(UavError):
    """Root of every error raised on purpose by :mod:`uav.link`."""


class ConnectFailed(LinkError):
    """The link could not be opened: no TCP connection or no vehicle HEARTBEAT in time."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"{url}: {detail}")


class LinkLost(LinkError):
    """The vehicle stopped answering (or the link was closed) while something waited on it."""

    def __init__(self, url: str, detail: str, last_state: VehicleState | None = None) -> None:
        self.url = url
        self.detail = detail
        self.last_state = last_state
        super().__init__(f"{url}: link lost: {detail}")


class WaitTimeout(LinkError):
    """A bounded wait ran out. ``last_state`` is the last vehicle state the wait saw and
    ``last_value`` what the condition returned for it."""

    def __init__(
        self,
        what: str,
        last_state: VehicleState | None,
        *,
        timeout_s: float | None = None,
        last_value: object = None,
        clock: str = "vehicle",
    ) -> None:
        self.what = what
        self.last_state = last_state
        self.timeout_s = timeout_s
        self.last_value = last_value
        self.clock = clock
        bound = f" within {timeout_s:g} s ({clock} clock)" if timeout_s is not None else ""
        super().__init__(f"timed out waiting for {what}{bound}")


class CommandRefused(LinkError):
    """The vehicle refused a command (COMMAND_ACK result other than ACCEPTED), or the link
    refused to send it because the vehicle is not in a state where it can work.

    ``result`` is the MAV_RESULT number, or None when refused before sending; ``texts`` are
    the vehicle's STATUSTEXTs that came with the refusal (e.g. "Arm: Fence requires position").
    """

    def __init__(self, command: str, result: int | None, texts: tuple[str, ...] = ()) -> None:
        self.command = command
        self.result = result
        self.texts = tuple(texts)
        why = f"result {result} ({result_name(result)})" if result is not None else "not sent"
        detail = f": {'; '.join(self.texts)}" if self.texts else ""
        super().__init__(f"{command} refused, {why}{detail}")


class MissionRejected(LinkError):
    """The vehicle ended a mission/fence/rally transfer with a MISSION_ACK other than ACCEPTED."""

    def __init__(self, mission_type: int, ack_code: int, texts: tuple[str, ...] = ()) -> None:
        self.mission_type = mission_type
        self.ack_code = ack_code
        self.texts = tuple(texts)
        detail = f": {'; '.join(self.texts)}" if self.texts else ""
        super().__init__(
            f"{mission_type_name(mission_type)} upload refused with MISSION_ACK {ack_code} "
            f"({mission_result_name(ack_code)}){detail}"
        )


class MissionMismatch(LinkError):
    """What the vehicle holds differs from what was uploaded (after the known normalisation)."""

    def __init__(self, mission_type: int, detail: str) -> None:
        self.mission_type = mission_type
        self.detail = detail
        super().__init__(f"{mission_type_name(mission_type)} verify failed: {detail}")


class ParamRejected(LinkError):
    """A PARAM_SET was echoed with another value than the one sent (or could not be sent)."""

    def __init__(self, name: str, requested: float, echoed: float | None, detail: str = "") -> None:
        self.name = name
        self.requested = requested
        self.echoed = echoed
        why = detail or f"the vehicle reports {echoed!r}"
        super().__init__(f"parameter {name} = {requested!r} not taken: {why}")


class SigningError(LinkError):
    """MAVLink2 signing could not be switched on or off as asked."""


class UnknownMode(InputError, LinkError):
    """A flight-mode name that ArduCopter does not have (bad input: exit code 2)."""


_RESULTS = {
    0: "ACCEPTED",
    1: "TEMPORARILY_REJECTED",
    2: "DENIED",
    3: "UNSUPPORTED",
    4: "FAILED",
    5: "IN_PROGRESS",
    6: "CANCELLED",
}

_MISSION_RESULTS = {
    0: "ACCEPTED",
    1: "ERROR",
    2: "UNSUPPORTED_FRAME",
    3: "UNSUPPORTED",
    4: "NO_SPACE",
    5: "INVALID",
    6: "INVALID_PARAM1",
    7: "INVALID_PARAM2",
    8: "INVALID_PARAM3",
    9: "INVALID_PARAM4",
    10: "INVALID_PARAM5_X",
    11: "INVALID_PARAM6_Y",
    12: "INVALID_PARAM7",
    13: "INVALID_SEQUENCE",
    14: "DENIED",
    15: "OPERATION_CANCELLED",
}

_MISSION_TYPES = {0: "mission", 1: "fence", 2: "rally"}


def result_name(result: int | None) -> str:
    """MAV_RESULT number -> name ("FAILED")."""
    if result is None:
        return "none"
    return _RESULTS.get(result, f"result {result}")


def mission_result_name(code: int) -> str:
    """MAV_MISSION_RESULT number -> name ("NO_SPACE")."""
    return _MISSION_RESULTS.get(code, f"code {code}")


def mission_type_name(mission_type: int) -> str:
    """MAV_MISSION_TYPE number -> "mission", "fence" or "rally"."""
    return _MISSION_TYPES.get(mission_type, f"mission type {mission_type}")
