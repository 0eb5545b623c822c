"""Tracks: detections of one aircraft over time.

A detection carrying an id (``Detection.identity``: Remote ID, else ICAO address) belongs to
the track of that id. An id-less plot (RF, radar) joins the nearest open plot track whose
last position is within ``gate_m + max_speed_mps x elapsed`` and last seen at most
``gate_window_s`` before it; else it starts a new track ``plot:<n>``, ``n`` its first
detection's UNIX time in milliseconds (so ids stay unique across listening sessions). Plots
are gated only against plot tracks (no fusion with id tracks).

A track records a change (one evidence record each) when it appears (``new``), when its
authorisation changed (``moved``, at once), when it moved ``moved_m`` or more since its last
record and that record is ``record_interval_s`` old or more (``moved``: its position at most
every 30 s by default, as incidents are updated; its every detection is in the log anyway),
and when it has been silent for ``timeout_s`` (``closed``): not one per detection.
Deterministic given the detections' times; a detection older than its track's last one
counts but does not move it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from uav.detect.model import (
    AltFrame,
    Category,
    Detection,
    Judgement,
    Track,
    TrackChange,
    new_track,
)

PLOT_PREFIX = "plot:"
EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0  # on the sphere the gate's distance uses
POLAR_LAT_DEG = 85.0  # beyond it the plot gate looks at every plot track


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
    recorded_s: float = -math.inf  # detection time of the last record

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
            d.time_s,
        )

    def snapshot(self, change: TrackChange) -> Track:
        return new_track(
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


_RAD = math.pi / 180.0
_HALF_RAD = _RAD / 2.0
_cos, _hypot = math.cos, math.hypot


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
        record_interval_s: float = 30.0,
        gate_m: float = 50.0,
        max_speed_mps: float = 60.0,
        gate_window_s: float = 30.0,
    ) -> None:
        self.timeout_s = timeout_s
        self.moved_m = moved_m
        self.record_interval_s = record_interval_s
        self.gate_m = gate_m
        self.max_speed_mps = max_speed_mps
        self.gate_window_s = gate_window_s
        self._last_plot = -1
        self._tracks: dict[str, _State] = {}
        self._plots = PlotGate(gate_m + max_speed_mps * gate_window_s)

    @property
    def tracks(self) -> list[Track]:
        """The open tracks as they stand."""
        return [s.snapshot(TrackChange.MOVED) for s in self._tracks.values()]

    def assign(self, detections: Sequence[Detection]) -> list[str]:
        """The track id of each detection (gating id-less plots, in order)."""
        out: list[str] = []
        append = out.append
        for d in detections:  # Detection.identity, inline (it runs per detection)
            if d.remote_id:
                append(f"rid:{d.remote_id}")
            elif d.icao_address:
                append(f"icao:{d.icao_address}")
            else:
                append(self._gate(d))
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
        update = self._update
        for d, j in zip(detections, judgements, strict=True):
            s = tracks.get(j.track_id)
            if s is None:
                s = tracks[j.track_id] = _State.start(d, j)
                changes.append(s.snapshot(TrackChange.NEW))
            elif update(s, d, j):
                s.recorded_lat_deg, s.recorded_lon_deg = s.lat_deg, s.lon_deg
                s.recorded_s = s.last_s
                changes.append(s.snapshot(TrackChange.MOVED))
        return changes

    def _update(self, s: _State, d: Detection, j: Judgement) -> bool:
        """Fold one detection in; True when the change is worth recording."""
        s.detections += 1
        t_s = d.time_s
        if t_s < s.last_s:  # late: counts, moves nothing
            if t_s < s.first_s:
                s.first_s = t_s
            return False
        s.last_s = t_s
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
        if lat is None or lon is None or lat - lat != 0.0 or lon - lon != 0.0:
            return significant  # no position (or not a finite one)
        s.lat_deg, s.lon_deg, s.alt_m, s.alt_frame = lat, lon, d.alt_m, d.alt_frame
        rlat, rlon = s.recorded_lat_deg, s.recorded_lon_deg
        if rlat is None or rlon is None or significant:
            return True
        if t_s - s.recorded_s < self.record_interval_s:
            return False  # recorded lately: its detections carry the positions meanwhile
        # distance_m(rlat, rlon, lat, lon) >= moved_m, inline (it runs per detection)
        x = (lon - rlon) * _RAD * _cos((rlat + lat) * _HALF_RAD)
        y = (lat - rlat) * _RAD
        return EARTH_RADIUS_M * _hypot(x, y) >= self.moved_m

    def expire(self, now_s: float) -> list[Track]:
        """Close the tracks silent for more than ``timeout_s`` at ``now_s``."""
        closed: list[Track] = []
        for tid in [k for k, s in self._tracks.items() if now_s - s.last_s > self.timeout_s]:
            track = self._tracks.pop(tid).snapshot(TrackChange.CLOSED)
            self._plots.drop(tid)
            closed.append(track)
        return closed


class PlotGate:
    """The last position of each plot track, in a grid of cells at least ``reach_m`` wide
    (the farthest a gate reaches), so a search looks at the 3 x 3 cells around a plot only.

    A row of cells is ``reach_m`` (plus 1 %) of latitude; cells in it are as wide in metres
    at the row's middle latitude. Within ``reach_m`` of a plot is then within the rows next
    to its own and, in each, the cells next to the one its longitude falls in (the 1 %
    covers the change of scale across neighbouring rows up to POLAR_LAT_DEG; beyond it every
    plot track is looked at). The nearest is chosen exactly as a scan of all would."""

    def __init__(self, reach_m: float = 1_850.0) -> None:
        self.ids: list[str] = []  # by slot
        self.slot: dict[str, int] = {}
        self.t_s: list[float] = []
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.cell: list[tuple[int, int]] = []
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._row_deg = max(reach_m, 1.0) * 1.01 / M_PER_DEG
        self._width_deg: dict[int, float] = {}  # by row

    def nearest(
        self,
        t_s: float,
        lat: float,
        lon: float,
        gate_m: float,
        max_speed_mps: float,
        window_s: float,
    ) -> str | None:
        """The plot track nearest (lat, lon) within its gate at ``t_s``, or None (ties: the
        lowest slot)."""
        if not self.ids:
            return None
        cos_lat = math.cos(math.radians(lat))
        t_of, lat_of, lon_of = self.t_s, self.lat, self.lon
        hypot, rad = math.hypot, _RAD  # v * _RAD is math.radians(v), bit for bit
        best: tuple[float, int] | None = None
        for slot in self._near_slots(lat, lon):
            dt = abs(t_s - t_of[slot])
            if dt > window_s:
                continue
            x = (lon_of[slot] - lon) * rad * cos_lat
            y = (lat_of[slot] - lat) * rad
            dist = EARTH_RADIUS_M * hypot(x, y)
            if dist <= gate_m + max_speed_mps * dt and (best is None or (dist, slot) < best):
                best = (dist, slot)
        return None if best is None else self.ids[best[1]]

    def _near_slots(self, lat: float, lon: float) -> list[int]:
        if abs(lat) > POLAR_LAT_DEG:
            return list(range(len(self.ids)))
        row = math.floor(lat / self._row_deg)
        cells, slot = self._cells, self.slot
        out: list[int] = []
        for r in (row - 1, row, row + 1):
            col = self._col(r, lon)
            for c in (col - 1, col, col + 1):
                members = cells.get((r, c))
                if members:
                    out += [slot[t] for t in members]
        return out

    def _col(self, row: int, lon: float) -> int:
        width_deg = self._width_deg.get(row)
        if width_deg is None:  # once per row: a cell's width in degrees of longitude
            mid_lat = (row + 0.5) * self._row_deg
            width_deg = self._row_deg / max(math.cos(math.radians(mid_lat)), 1e-6)
            self._width_deg[row] = width_deg
        return math.floor(lon / width_deg)

    def _cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        row = math.floor(lat / self._row_deg)
        return row, self._col(row, lon)

    def put(self, track_id: str, t_s: float, lat: float, lon: float) -> None:
        cell = self._cell_of(lat, lon)
        i = self.slot.get(track_id)
        if i is None:
            self.slot[track_id] = len(self.ids)
            self.ids.append(track_id)
            self.t_s.append(t_s)
            self.lat.append(lat)
            self.lon.append(lon)
            self.cell.append(cell)
            self._cells.setdefault(cell, set()).add(track_id)
            return
        if t_s < self.t_s[i]:
            return
        self.t_s[i], self.lat[i], self.lon[i] = t_s, lat, lon
        if cell != self.cell[i]:
            self._leave(track_id, self.cell[i])
            self.cell[i] = cell
            self._cells.setdefault(cell, set()).add(track_id)

    def _leave(self, track_id: str, cell: tuple[int, int]) -> None:
        members = self._cells[cell]
        members.discard(track_id)
        if not members:
            del self._cells[cell]

    def drop(self, track_id: str) -> None:
        i = self.slot.pop(track_id, None)
        if i is None:
            return
        self._leave(track_id, self.cell[i])
        last = len(self.ids) - 1
        if i != last:  # move the last entry into the hole
            moved = self.ids[last]
            self.ids[i] = moved
            self.slot[moved] = i
            self.t_s[i], self.lat[i], self.lon[i] = self.t_s[last], self.lat[last], self.lon[last]
            self.cell[i] = self.cell[last]
        for column in (self.ids, self.t_s, self.lat, self.lon, self.cell):
            column.pop()
