"""Parameter intervals along legs: where a leg is inside a zone's band and schedule.

A *piece* is an interval ``[s0, s1]`` of the leg parameter (0 = leg start, 1 = leg end) that
belongs to one (leg, zone) pair. :class:`Pieces` holds many as parallel arrays, so the
spatial, vertical and time conditions can be intersected without Python loops over pairs
(the time condition loops only over pairs whose zone has a schedule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

Span = tuple[float, float]


@dataclass(frozen=True)
class Pieces:
    """Intervals ``[s0[k], s1[k]]`` of the leg parameter, each owned by pair ``pair[k]``."""

    pair: IntArray
    s0: FloatArray
    s1: FloatArray

    @staticmethod
    def empty() -> Pieces:
        return Pieces(np.empty(0, np.intp), np.empty(0), np.empty(0))

    @staticmethod
    def concat(parts: Sequence[Pieces]) -> Pieces:
        if not parts:
            return Pieces.empty()
        return Pieces(
            np.concatenate([p.pair for p in parts]),
            np.concatenate([p.s0 for p in parts]),
            np.concatenate([p.s1 for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.pair)

    def select(self, keep: BoolArray) -> Pieces:
        return Pieces(self.pair[keep], self.s0[keep], self.s1[keep])

    def clip(self, lo: FloatArray, hi: FloatArray) -> Pieces:
        """Intersect each piece with its pair's single interval ``[lo[pair], hi[pair]]``."""
        s0 = np.maximum(self.s0, lo[self.pair])
        s1 = np.minimum(self.s1, hi[self.pair])
        keep = s0 <= s1
        return Pieces(self.pair[keep], s0[keep], s1[keep])

    def clip_some(self, pairs: IntArray, spans_of: Callable[[int], list[Span]]) -> Pieces:
        """Intersect the pieces of ``pairs`` with the interval lists ``spans_of(pair)``."""
        if not len(pairs) or not len(self):
            return self
        affected = np.isin(self.pair, pairs)
        if not affected.any():
            return self
        rows: list[tuple[int, float, float]] = []
        cache: dict[int, list[Span]] = {}
        for k in np.flatnonzero(affected):
            p = int(self.pair[k])
            spans = cache.setdefault(p, spans_of(p))
            a, b = float(self.s0[k]), float(self.s1[k])
            rows.extend((p, max(a, lo), min(b, hi)) for lo, hi in spans if max(a, lo) <= min(b, hi))
        kept = self.select(~affected)
        if not rows:
            return kept
        pair, s0, s1 = (np.array(c) for c in zip(*rows, strict=True))
        return Pieces.concat([kept, Pieces(pair.astype(np.intp), s0, s1)])

    def first_last(self, n_pairs: int) -> tuple[BoolArray, FloatArray, FloatArray]:
        """Per pair: has any piece, lowest s0, highest s1."""
        first = np.full(n_pairs, np.inf)
        last = np.full(n_pairs, -np.inf)
        np.minimum.at(first, self.pair, self.s0)
        np.maximum.at(last, self.pair, self.s1)
        return np.isfinite(first), first, last


def band_params(
    alt0: FloatArray, alt1: FloatArray, floor_m: FloatArray, ceiling_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Where ``floor <= alt(s) <= ceiling`` for alt linear from alt0 to alt1: (lo, hi).

    ``lo > hi`` means never. All altitudes above home; ``ceiling`` may be ``inf``.
    """
    rise = alt1 - alt0
    flat = np.abs(rise) < 1e-9
    safe = np.where(flat, 1.0, rise)
    with np.errstate(invalid="ignore"):
        at_floor = (floor_m - alt0) / safe
        at_ceiling = (ceiling_m - alt0) / safe
    up = rise > 0
    lo = np.where(up, at_floor, at_ceiling)
    hi = np.where(up, at_ceiling, at_floor)
    inside_flat = (floor_m <= alt0) & (alt0 <= ceiling_m)
    lo = np.where(flat, np.where(inside_flat, 0.0, 1.0), lo)
    hi = np.where(flat, np.where(inside_flat, 1.0, 0.0), hi)
    return np.maximum(lo, 0.0), np.minimum(hi, 1.0)


def time_params(spans: Sequence[Span], t0_s: float, t1_s: float) -> list[Span]:
    """The parameter intervals of a leg from ``t0_s`` to ``t1_s`` (epoch) inside ``spans``."""
    out: list[Span] = []
    duration = t1_s - t0_s
    for a, b in spans:
        if duration <= 0:
            if a <= t0_s <= b:
                return [(0.0, 1.0)]
            continue
        lo = max((a - t0_s) / duration, 0.0)
        hi = min((b - t0_s) / duration, 1.0)
        if lo <= hi:
            out.append((lo, hi))
    return out


def widen(spans: Sequence[Span], margin_s: float) -> list[Span]:
    """Spans grown by ``margin_s`` on both sides (negative shrinks), merged, empties dropped."""
    out: list[Span] = []
    for a, b in sorted((a - margin_s, b + margin_s) for a, b in spans):
        if a > b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def uncovered(spans: Sequence[Span], tol: float) -> list[Span]:
    """The parts of [0, 1] that ``spans`` leave uncovered (gaps up to ``tol`` ignored)."""
    gaps: list[Span] = []
    reach = 0.0
    for a, b in sorted(spans):
        if a > reach + tol:
            gaps.append((reach, a))
        reach = max(reach, b)
    if reach < 1.0 - tol:
        gaps.append((reach, 1.0))
    return gaps
