"""Tracks: detections of one aircraft over time.

A detection carrying an id (``Detection.identity``: Remote ID, else ICAO address) belongs to
the track of that id. An id-less plot (RF, radar) joins the nearest open plot track whose
last position is within ``gate_m + max_speed_mps x elapsed`` and last seen at most
``gate_window_s`` before it; else it starts a new track ``plot:<n>``, ``n`` its first
detection's UNIX time in milliseconds (so ids stay unique across listening sessions). Plots
are gated only against plot tracks (no fusion with id tracks).

A track records a change (one evidence record each) when it appears (``new``), when it
moved ``moved_m`` or more since its last record or its authorisation changed (``moved``),
and when it has been silent for ``timeout_s`` (``closed``): not one per detection.
Deterministic given the detections' times; a detection older than its track's last one
counts but does not move it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from uav.detect.model import AltFrame, Category, Detection, Judgement, Track, TrackChange

PLOT_PREFIX = "plot:"
EARTH_RADIUS_M = 6_371_008.8


@dataclass(slots=True)
class _State:
    """A track's mutable state; :meth:`snapshot` makes the :class:`Track` record."""

    track_id: str
    category: Category
    first_s: float
    last_s: float
    detections: int
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None
    alt_frame: AltFrame | None
    authorised: bool
    authorised_by: str | None
    remote_id: str | None
    icao_address: str | None
    operator_lat_deg: float | None
    operator_lon_deg: float | None
    recorded_lat_deg: float | None = None
    recorded_lon_deg: float | None = None

    @classmethod
    def start(cls, d: Detection, j: Judgement) -> _State:
        pos = d.has_position
        return cls(
            j.track_id,
            j.category,
            d.time_s,
            d.time_s,
            1,
            d.lat_deg if pos else None,
            d.lon_deg if pos else None,
            d.alt_m if pos else None,
            d.alt_frame if pos else None,
            j.authorised,
            j.authorised_by,
            d.remote_id,
            d.icao_address,
            d.operator_lat_deg,
            d.operator_lon_deg,
            d.lat_deg if pos else None,
            d.lon_deg if pos else None,
        )

    def snapshot(self, change: TrackChange) -> Track:
        return Track(
            self.track_id,
            self.category,
            self.first_s,
            self.last_s,
            self.detections,
            self.lat_deg,
            self.lon_deg,
            self.alt_m,
            self.alt_frame,
            self.authorised,
            self.authorised_by,
            self.remote_id,
            self.icao_address,
            self.operator_lat_deg,
            self.operator_lon_deg,
            change,
        )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance; plenty for gating and 'moved' thresholds."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return EARTH_RADIUS_M * math.hypot(x, y)


class Tracker:
    """Keeps the open tracks; see the module docstring."""

    def __init__(
        self,
        *,
        timeout_s: float = 60.0,
        moved_m: float = 100.0,
        gate_m: float = 50.0,
        max_speed_mps: float = 60.0,
        gate_window_s: float = 30.0,
    ) -> None:
        self.timeout_s = timeout_s
        self.moved_m = moved_m
        self.gate_m = gate_m
        self.max_speed_mps = max_speed_mps
        self.gate_window_s = gate_window_s
        self._last_plot = -1
        self._tracks: dict[str, _State] = {}
        self._plots = PlotGate()

    @property
    def tracks(self) -> list[Track]:
        """The open tracks as they stand."""
        return [s.snapshot(TrackChange.MOVED) for s in self._tracks.values()]

    def assign(self, detections: Sequence[Detection]) -> list[str]:
        """The track id of each detection (gating id-less plots, in order)."""
        out: list[str] = []
        for d in detections:
            ident = d.identity
            out.append(ident if ident is not None else self._gate(d))
        return out

    def _gate(self, d: Detection) -> str:
        lat, lon = d.lat_deg, d.lon_deg
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            return self._new_plot(d.time_s)
        best = self._plots.nearest(
            d.time_s, lat, lon, self.gate_m, self.max_speed_mps, self.gate_window_s
        )
        if best is None:
            best = self._new_plot(d.time_s)
        self._plots.put(best, d.time_s, lat, lon)
        return best

    def _new_plot(self, t_s: float) -> str:
        """``plot:<n>``, n the first detection's time in milliseconds (one more than the
        last plot's when that is taken): unique across sessions, the same on a replay."""
        n = max(math.floor(t_s * 1000.0), self._last_plot + 1)
        self._last_plot = n
        return f"{PLOT_PREFIX}{n}"

    def observe(
        self, detections: Sequence[Detection], judgements: Sequence[Judgement]
    ) -> list[Track]:
        """Fold a batch (in time order) into the tracks; returns the changes to record."""
        changes: list[Track] = []
        tracks = self._tracks
        for d, j in zip(detections, judgements, strict=True):
            s = tracks.get(j.track_id)
            if s is None:
                s = tracks[j.track_id] = _State.start(d, j)
                changes.append(s.snapshot(TrackChange.NEW))
            elif self._update(s, d, j):
                s.recorded_lat_deg, s.recorded_lon_deg = s.lat_deg, s.lon_deg
                changes.append(s.snapshot(TrackChange.MOVED))
        return changes

    def _update(self, s: _State, d: Detection, j: Judgement) -> bool:
        """Fold one detection in; True when the change is worth recording."""
        s.detections += 1
        if d.time_s < s.last_s:  # late: counts, moves nothing
            s.first_s = min(s.first_s, d.time_s)
            return False
        s.last_s = d.time_s
        if s.remote_id is None:
            s.remote_id = d.remote_id
        if s.icao_address is None:
            s.icao_address = d.icao_address
        if s.category is Category.UNKNOWN:
            s.category = j.category
        if d.operator_lat_deg is not None and d.operator_lon_deg is not None:
            s.operator_lat_deg, s.operator_lon_deg = d.operator_lat_deg, d.operator_lon_deg
        significant = False
        if j.authorised != s.authorised or j.authorised_by != s.authorised_by:
            s.authorised, s.authorised_by = j.authorised, j.authorised_by
            significant = True
        lat, lon = d.lat_deg, d.lon_deg
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            return significant
        s.lat_deg, s.lon_deg, s.alt_m, s.alt_frame = lat, lon, d.alt_m, d.alt_frame
        if s.recorded_lat_deg is None or s.recorded_lon_deg is None:
            return True
        moved = distance_m(s.recorded_lat_deg, s.recorded_lon_deg, lat, lon)
        return significant or moved >= self.moved_m

    def expire(self, now_s: float) -> list[Track]:
        """Close the tracks silent for more than ``timeout_s`` at ``now_s``."""
        closed: list[Track] = []
        for tid in [k for k, s in self._tracks.items() if now_s - s.last_s > self.timeout_s]:
            track = self._tracks.pop(tid).snapshot(TrackChange.CLOSED)
            self._plots.drop(tid)
            closed.append(track)
        return closed


class PlotGate:
    """The last position of each plot track, as arrays for a vectorised nearest search."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.slot: dict[str, int] = {}
        self.t_s = np.empty(0)
        self.lat = np.empty(0)
        self.lon = np.empty(0)

    def nearest(
        self,
        t_s: float,
        lat: float,
        lon: float,
        gate_m: float,
        max_speed_mps: float,
        window_s: float,
    ) -> str | None:
        """The plot track nearest (lat, lon) within its gate at ``t_s``, or None."""
        n = len(self.ids)
        if not n:
            return None
        dt = np.abs(t_s - self.t_s[:n])
        x = np.radians(self.lon[:n] - lon) * math.cos(math.radians(lat))
        y = np.radians(self.lat[:n] - lat)
        dist = EARTH_RADIUS_M * np.hypot(x, y)
        ok = (dt <= window_s) & (dist <= gate_m + max_speed_mps * dt)
        if not ok.any():
            return None
        return self.ids[int(np.argmin(np.where(ok, dist, np.inf)))]

    def put(self, track_id: str, t_s: float, lat: float, lon: float) -> None:
        i = self.slot.get(track_id)
        if i is None:
            i = self.slot[track_id] = len(self.ids)
            self.ids.append(track_id)
            if i >= len(self.t_s):
                grow = max(16, 2 * len(self.t_s))
                self.t_s = np.resize(self.t_s, grow)
                self.lat = np.resize(self.lat, grow)
                self.lon = np.resize(self.lon, grow)
        elif t_s < self.t_s[i]:
            return
        self.t_s[i], self.lat[i], self.lon[i] = t_s, lat, lon

    def drop(self, track_id: str) -> None:
        i = self.slot.pop(track_id, None)
        if i is None:
            return
        last = len(self.ids) - 1
        if i != last:  # move the last entry into the hole
            moved = self.ids[last]
            self.ids[i] = moved
            self.slot[moved] = i
            self.t_s[i], self.lat[i], self.lon[i] = self.t_s[last], self.lat[last], self.lon[last]
        self.ids.pop()
