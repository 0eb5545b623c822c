"""Load zone files into the store: every file is read and validated before anything is
written, and the write is one transaction, so a load is all-or-nothing."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from uav.formats import read_zone_file
from uav.store import Store
from uav.timeutil import now_utc
from uav.zones.build import ZoneDefaults
from uav.zones.model import Zone


@dataclass(frozen=True)
class LoadResult:
    zones: list[Zone]  # as stored, with ids
    replaced: int  # zones removed by --replace


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def read_zone_files(
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    crs: str = "wgs84",
    defaults: ZoneDefaults | None = None,
    loaded_by: str | None = None,
) -> list[Zone]:
    """Read and validate every file; raise on the first problem, having written nothing."""
    loaded_at = now_utc()
    by = loaded_by or current_user()
    zones: list[Zone] = []
    for path in paths:
        zones.extend(
            read_zone_file(
                path.resolve(),
                fmt=fmt,
                crs=crs,
                defaults=defaults,
                loaded_by=by,
                loaded_at=loaded_at,
            )
        )
    return zones


def load_zone_files(
    store: Store,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    crs: str = "wgs84",
    defaults: ZoneDefaults | None = None,
    replace: bool = False,
    loaded_by: str | None = None,
) -> LoadResult:
    """Read, validate and store zones from ``paths``. With ``replace``, zones earlier loaded
    from the same files (by absolute path) are removed in the same transaction."""
    zones = read_zone_files(paths, fmt=fmt, crs=crs, defaults=defaults, loaded_by=loaded_by)
    sources = [str(p.resolve()) for p in paths] if replace else []
    stored, removed = store.add_zones(zones, replace_sources=sources)
    return LoadResult(stored, removed)
