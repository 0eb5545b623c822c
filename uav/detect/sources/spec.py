"""``SOURCE`` arguments of ``uav detect listen`` -> :class:`~uav.detect.sources.base.Source`.

=================================  ==========================================================
spec                               source
=================================  ==========================================================
``mavlink:URL``                    ADSB_VEHICLE and OPEN_DRONE_ID_* on a MAVLink link of its own
                                   (``mavlink:tcp:127.0.0.1:5760``, ``mavlink:udpin:0.0.0.0:14550``)
``fleet`` / ``fleet:NAME,...``     the same, on the links of every registered drone (or those
                                   named)
``sbs:tcp:HOST:PORT``              SBS-1 / BaseStation lines (dump1090 port 30003)
``aircraft-json:PATH_OR_URL``      dump1090 ``aircraft.json``, polled every ``interval_s``
``jsonl:PATH`` / ``jsonl:-``       detector JSON lines from a file or stdin
``replay:FILE``                    a ``.tlog`` or a ``.jsonl`` of detections, re-ingested
=================================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from uav.detect.sources.aircraft_json import INTERVAL_S, AircraftJsonSource
from uav.detect.sources.base import Source
from uav.detect.sources.jsonl import JsonlSource
from uav.detect.sources.mavlink import FleetSource, MavlinkSource
from uav.detect.sources.replay import ReplaySource
from uav.detect.sources.sbs import SbsSource
from uav.errors import InputError

if TYPE_CHECKING:
    from uav.store import Store

FORMS = (
    "mavlink:URL, fleet, sbs:tcp:HOST:PORT, aircraft-json:PATH_OR_URL, jsonl:PATH|-, replay:FILE"
)


def parse_source(
    spec: str, *, store: Store | None = None, interval_s: float = INTERVAL_S
) -> Source:
    """The source a ``SOURCE`` argument names; :class:`InputError` naming ``spec`` when it is
    not one (``fleet`` needs ``store``; files must exist)."""
    text = spec.strip()
    kind, _, rest = text.partition(":")
    if kind == "fleet":
        return _fleet(spec, rest, store)
    if not rest:
        raise _bad(spec, f"expected one of: {FORMS}")
    if kind == "mavlink":
        return MavlinkSource(rest, name=text)
    if kind == "sbs":
        host, port = _tcp_address(spec, rest)
        return SbsSource(host, port, name=text)
    if kind == "aircraft-json":
        if interval_s <= 0:
            raise _bad(spec, f"the poll interval must be positive, not {interval_s:g}")
        if not rest.startswith(("http://", "https://")):
            _existing_file(spec, rest)
        return AircraftJsonSource(rest, name=text, interval_s=interval_s)
    if kind == "jsonl":
        if rest != "-":
            _existing_file(spec, rest)
        return JsonlSource(rest, name=text)
    if kind == "replay":
        _existing_file(spec, rest)
        try:
            return ReplaySource(rest, name=text)
        except InputError as exc:
            raise _bad(spec, exc.message) from None
    raise _bad(spec, f"unknown source kind {kind!r}; expected one of: {FORMS}")


def _bad(spec: str, detail: str) -> InputError:
    return InputError(f"source {spec!r}: {detail}")


def _tcp_address(spec: str, rest: str) -> tuple[str, int]:
    scheme, _, address = rest.partition(":")
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if scheme != "tcp" or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _bad(spec, "expected sbs:tcp:HOST:PORT, e.g. sbs:tcp:127.0.0.1:30003")
    return host, int(port_text)


def _existing_file(spec: str, path: str) -> None:
    if not Path(path).is_file():
        raise _bad(spec, f"no such file: {path}")


def _fleet(spec: str, names_text: str, store: Store | None) -> Source:
    if store is None:
        raise _bad(spec, "the fleet source needs the fleet registry (a database)")
    from uav.errors import NotFound
    from uav.fleet.links import targets

    names = [n.strip() for n in names_text.split(",") if n.strip()]
    try:
        found = targets(store, names)
    except NotFound as exc:
        raise _bad(spec, str(exc)) from None
    if not found:
        raise _bad(spec, "no drones are registered (uav fleet add)")
    return FleetSource(targets=found, name=spec.strip())
