"""Errors about one drone of the fleet: every message starts with the drone's name.

:func:`about` turns what the link layer raises into these, so that the command line can
tell a refusal by the vehicle (:class:`DroneRefused`, exit code 1) from a link that failed or
a confirmation that never came (:class:`DroneLinkError`, exit code 2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from uav.errors import InputError, UavError
from uav.link.errors import CommandRefused, LinkError, MissionRejected, SigningError
from uav.link.signing import REFUSED_WHILE_ARMED

if TYPE_CHECKING:
    from uav.check.report import CheckReport, Finding


class DroneError(UavError):
    """Something about one drone went wrong; ``drone`` is its registered name."""

    def __init__(self, drone: str, message: str) -> None:
        self.drone = drone
        self.detail = message
        super().__init__(f"{drone}: {message}")


class DroneRefused(DroneError):
    """The vehicle refused (a COMMAND_ACK or MISSION_ACK refusal, a mode it would not keep,
    a state in which the command cannot work). ``texts`` are its own words
    (``Arm: Fence requires position``)."""

    def __init__(self, drone: str, message: str, texts: tuple[str, ...] = ()) -> None:
        self.texts = tuple(texts)
        super().__init__(drone, message)


class PlanRefused(DroneError):
    """The plan check found violations: nothing was sent to the drone."""

    def __init__(self, drone: str, report: CheckReport) -> None:
        self.report = report
        n = len(report.violations)
        super().__init__(drone, f"the plan is not clear ({n} violation(s)): nothing was sent")


class MoveRefused(DroneError):
    """A direct goto or take-off would break a zone's rule: nothing was sent. ``findings``
    are the plan check's violations on the leg it would fly."""

    def __init__(self, drone: str, what: str, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        said = " ".join(f.message for f in self.findings)
        super().__init__(
            drone,
            f"{what} refused by the zone check ({len(self.findings)} violation(s)), nothing "
            f"was sent: {said} (--no-check flies it anyway)",
        )


class DroneLinkError(DroneError):
    """No link, a lost link, or a confirmation that did not come in time."""


class FlightAborted(DroneError):
    """The pilot interrupted (Ctrl-C); the message says what became of the drone."""


class HomeMismatch(DroneError):
    """The drone's home is too far from the plan's: the check does not describe the flight."""


@contextmanager
def about(drone: str) -> Iterator[None]:
    """Re-raise the link layer's errors as :class:`DroneError` naming ``drone``. Bad input
    (:class:`~uav.errors.InputError`, e.g. an unknown mode) passes unchanged."""
    try:
        yield
    except InputError:
        raise
    except (CommandRefused, MissionRejected) as exc:
        raise DroneRefused(drone, str(exc), exc.texts) from exc
    except SigningError as exc:
        if REFUSED_WHILE_ARMED in str(exc):
            raise DroneRefused(drone, str(exc), (REFUSED_WHILE_ARMED,)) from exc
        raise DroneLinkError(drone, str(exc)) from exc
    except LinkError as exc:
        raise DroneLinkError(drone, str(exc)) from exc
