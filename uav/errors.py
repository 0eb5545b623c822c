"""One root exception with typed subclasses.

Every error the library raises on purpose derives from :class:`UavError`. The CLI maps
:class:`InputError` (and its subclasses) and :class:`CheckUncertain` to exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class UavError(Exception):
    """Root of every error raised on purpose by uav."""


@dataclass
class Location:
    """Where in an input a problem sits: file, feature (index and name), line."""

    file: Path | str | None = None
    feature_index: int | None = None
    feature_name: str | None = None
    line: int | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.feature_index is not None:
            feat = f"feature {self.feature_index}"
            if self.feature_name:
                feat += f" ({self.feature_name!r})"
            parts.append(feat)
        elif self.feature_name:
            parts.append(f"feature {self.feature_name!r}")
        return ", ".join(parts)


class InputError(UavError):
    """Bad input: a file, a feature or an option that cannot be used as given."""

    def __init__(self, message: str, where: Location | None = None) -> None:
        self.message = message
        self.where = where or Location()
        prefix = self.where.describe()
        super().__init__(f"{prefix}: {message}" if prefix else message)


class FormatError(InputError):
    """A file that is malformed for its format, or whose format cannot be told."""


class ZoneValidationError(InputError):
    """A zone that parsed but is not valid (geometry, band, schedule, restriction)."""


class PlanError(InputError):
    """A flight plan that cannot be read or flown as given."""


class NotFound(UavError):
    """A zone, grant or drone that the database does not hold."""


class StoreError(UavError):
    """The database cannot be opened or is of an unknown schema version."""


class CheckUncertain(UavError):
    """The check cannot decide safely (e.g. mixed altitude frames without a home altitude)."""
