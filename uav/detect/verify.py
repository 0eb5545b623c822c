"""``uav detect verify``: walk the evidence chain and check the query tables against it.

The chain (recipe in :mod:`uav.store.evidence`): every record's hash recomputed, every link
(``prev_hash`` = the previous record's hash), ``seq`` = 1, 2, 3, ... without gaps, and the
last record equal to ``meta.evidence_tip``. Then the derived tables, which the CLI filters on:
each ``detections`` row equal to what its detection record says (key recomputed from the
recorded sighting's text as stored, ``zone_ids`` from the recorded judgement), one row per
detection record and none without; each ``tracks`` / ``incidents`` / ``permits`` row equal
to the latest record about it. The first problem found is reported (chain problems first, in
``seq`` order). A consistent rewrite of the whole chain from some record on cannot be told
from the database alone: keep the tip (printed by verify) outside it, e.g. in the case file,
and check it later with ``--tip``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from uav.detect.evidence_records import detection_from_payload, detection_row_tail, stored_key
from uav.store import Store, schema
from uav.store import schema_evidence as S
from uav.store.evidence import GENESIS_HASH, TIP_KEY, ChainTip, record_hash

REORDER_WINDOW = 10_000  # how far from its place a moved record is looked for
STREAM_ROWS = 5_000

HASH_MISMATCH = "hash mismatch"
BROKEN_LINK = "broken link"
SEQ_GAP = "gap in seq"
OUT_OF_ORDER = "out of order"
TIP_MISMATCH = "tip mismatch"
INDEX_MISMATCH = "index mismatch"


@dataclass(frozen=True)
class Problem:
    """The first bad record: where, and what is wrong with it."""

    what: str  # one of the constants above
    detail: str
    seq: int | None = None
    kind: str | None = None
    time_s: float | None = None

    def describe(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "the log"
        if self.kind:
            where += f" ({self.kind}"
            where += f", time {self.time_s!r})" if self.time_s is not None else ")"
        return f"{where}: {self.what}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "time_s": self.time_s,
            "what": self.what,
            "detail": self.detail,
        }


@dataclass
class VerifyReport:
    records: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    tip: ChainTip = field(default_factory=lambda: ChainTip(0, GENESIS_HASH))
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "by_kind": dict(sorted(self.by_kind.items())),
            "tip_seq": self.tip.seq,
            "tip_hash": self.tip.hash,
            "problem": None if self.problem is None else self.problem.to_json(),
        }


def verify_evidence(
    store: Store,
    *,
    tip_hash: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Check the chain and the tables derived from it; see the module docstring.
    ``tip_hash``: a hash recorded earlier, which must be in the chain. ``progress(done,
    total)``, when given, is told how many records the walk has checked, of the last seq,
    every ``STREAM_ROWS`` records and at the end of the walk."""
    report = VerifyReport()
    with store.engine.connect() as conn, store.engine.connect() as side:
        walker = _Walker(conn, side, report, progress)
        report.problem = walker.walk()
        if report.problem is None:
            report.problem = walker.check_states() or _check_tip(conn, report.tip)
        if report.problem is None and tip_hash is not None and not walker.seen_hash(tip_hash):
            report.problem = Problem(
                TIP_MISMATCH, f"the recorded hash {tip_hash} is not in the chain (rewritten?)"
            )
    return report


def _stream(conn: Connection, q: Any) -> Iterator[Any]:
    return iter(conn.execution_options(yield_per=STREAM_ROWS).execute(q))


class _Walker:
    def __init__(
        self,
        conn: Connection,
        side: Connection,
        report: VerifyReport,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.side = side
        self.report = report
        self.progress = progress
        self.latest: dict[str, dict[Any, tuple[int, dict[str, Any]]]] = {
            "track": {},
            "incident": {},
            "permit": {},
        }

    def seen_hash(self, h: str) -> bool:
        E = S.evidence
        found = self.conn.execute(select(E.c.seq).where(E.c.hash == h).limit(1)).first()
        return found is not None

    def walk(self) -> Problem | None:
        total = self._last_seq() if self.progress is not None else 0
        problem = self._walk(total)
        if self.progress is not None:
            self.progress(self.report.records, total)
        return problem

    def _last_seq(self) -> int:
        E = S.evidence
        return int(self.conn.execute(select(func.max(E.c.seq))).scalar() or 0)

    def _walk(self, total: int) -> Problem | None:
        E, D = S.evidence, S.detections
        progress = self.progress
        records = _stream(self.conn, select(E).order_by(E.c.seq))
        dets = _stream(self.side, select(D).order_by(D.c.seq))
        det = next(dets, None)
        expected, prev = 1, GENESIS_HASH
        first_index_problem: Problem | None = None
        by_kind = self.report.by_kind
        for r in records:
            problem = self._check_link(r, expected, prev)
            if problem is not None:
                return problem
            self.report.records += 1
            if progress is not None and not self.report.records % STREAM_ROWS:
                progress(self.report.records, total)
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
            self.report.tip = ChainTip(r.seq, r.hash)
            expected, prev = r.seq + 1, r.hash
            if first_index_problem is not None:
                continue
            while det is not None and det.seq < r.seq:
                first_index_problem = _index(det.seq, None, "a detections row without a record")
                det = next(dets, None)
            if r.kind == "detection":
                if det is None or det.seq != r.seq:
                    first_index_problem = _index(r.seq, r, "no detections row for this record")
                    continue
                first_index_problem = _check_detection(r, det)
                det = next(dets, None)
            elif r.kind in self.latest:
                first_index_problem = self._note_state(r)
        if first_index_problem is None and det is not None:
            first_index_problem = _index(det.seq, None, "a detections row without a record")
        return first_index_problem or self._duplicate_keys()

    def _check_link(self, r: Any, expected: int, prev: str) -> Problem | None:
        t = float(r.time_s)
        if r.seq > expected:
            missing = f"seq {expected}" if r.seq == expected + 1 else f"seq {expected}..{r.seq - 1}"
            return Problem(SEQ_GAP, f"{missing} missing (deleted?)", r.seq, r.kind, t)
        if r.seq < expected:
            return Problem(OUT_OF_ORDER, f"seq {r.seq} before seq {expected}", r.seq, r.kind, t)
        if record_hash(r.prev_hash, r.seq, r.kind, t, r.payload) != r.hash:
            written = self._written_as(r, t)
            if written is not None:
                detail = f"the record was written as seq {written} (records reordered)"
                return Problem(OUT_OF_ORDER, detail, r.seq, r.kind, t)
            detail = "the record's content does not give its hash (edited after writing)"
            return Problem(HASH_MISMATCH, detail, r.seq, r.kind, t)
        if r.prev_hash != prev:
            detail = (
                f"prev_hash is not the hash of seq {r.seq - 1} (a record before was edited, "
                "inserted or removed)"
            )
            return Problem(BROKEN_LINK, detail, r.seq, r.kind, t)
        return None

    @staticmethod
    def _written_as(r: Any, t: float) -> int | None:
        lo, hi = max(1, r.seq - REORDER_WINDOW), r.seq + REORDER_WINDOW
        for s in range(lo, hi + 1):
            if s != r.seq and record_hash(r.prev_hash, s, r.kind, t, r.payload) == r.hash:
                return s
        return None

    def _note_state(self, r: Any) -> Problem | None:
        id_field = {"track": "track_id", "incident": "incident_id", "permit": "id"}[r.kind]
        try:
            doc = json.loads(r.payload)
            ident = doc[id_field]
        except (ValueError, KeyError, TypeError):
            return _index(r.seq, r, f"the payload is not a {r.kind} record")
        self.latest[r.kind][ident] = (r.seq, doc)
        return None

    def _duplicate_keys(self) -> Problem | None:
        D = S.detections
        q = select(D.c.key, func.min(D.c.seq)).group_by(D.c.key).having(func.count() > 1).limit(1)
        dup = self.conn.execute(q).first()
        if dup is None:
            return None
        return _index(int(dup[1]), None, f"detection key {dup[0]} is logged more than once")

    def check_states(self) -> Problem | None:
        checks = (
            ("track", S.tracks, "track_id", _state_expected),
            ("incident", S.incidents, "incident_id", _state_expected),
            ("permit", S.permits, "id", _permit_expected),
        )
        for kind, table, id_col, expect in checks:
            latest = self.latest[kind]
            rows = {getattr(r, id_col): r for r in self.conn.execute(select(table))}
            for ident in sorted(set(rows) | set(latest), key=lambda i: latest.get(i, (0,))[0]):
                problem = _compare_state(kind, table, ident, rows.get(ident), latest, expect)
                if problem is not None:
                    return problem
        return None


def _compare_state(
    kind: str, table: Any, ident: Any, row: Any, latest: dict[Any, Any], expect: Any
) -> Problem | None:
    if ident not in latest:
        return _index(None, None, f"{table.name} row {ident!r} has no {kind} record")
    seq, doc = latest[ident]
    if row is None:
        return _index(seq, None, f"no {table.name} row for {kind} {ident!r}", kind)
    if row.seq != seq:
        detail = f"{table.name} row {ident!r} names seq {row.seq}, its latest record is {seq}"
        return _index(seq, None, detail, kind)
    for col, want in expect(table, doc).items():
        got = row._mapping[col]
        if got != want:
            detail = f"{table.name} row {ident!r}: {col} is {got!r}, the record says {want!r}"
            return _index(seq, None, detail, kind)
    return None


def _state_expected(table: Any, doc: dict[str, Any]) -> dict[str, Any]:
    return {c.name: doc.get(c.name) for c in table.columns if c.name != "seq"}


def _permit_expected(table: Any, doc: dict[str, Any]) -> dict[str, Any]:
    p = doc["permit"]
    want = {c.name: p.get(c.name) for c in table.columns if c.name not in ("seq", "id")}
    hexed = p.get("area_wkb_hex")
    want["area_wkb"] = None if hexed is None else bytes.fromhex(hexed)
    return want


def _check_detection(r: Any, det: Any) -> Problem | None:
    try:
        detection, judgement = detection_from_payload(r.payload)
        key = stored_key(r.payload)  # over the sighting's text as stored
    except (ValueError, KeyError, TypeError) as exc:
        return _index(r.seq, r, f"the payload is not a detection record: {exc}")
    want = (r.seq, *detection_row_tail(detection, judgement, key))
    got = tuple(det)
    names = [c.name for c in S.detections.columns]
    for name, w, g in zip(names, want, got, strict=True):
        if w != g:
            return _index(r.seq, r, f"detections.{name} is {g!r}, the record says {w!r}")
    return None


def _index(seq: int | None, r: Any, detail: str, kind: str | None = None) -> Problem:
    if r is not None:
        return Problem(INDEX_MISMATCH, detail, seq, r.kind, float(r.time_s))
    return Problem(INDEX_MISMATCH, detail, seq, kind)


def _check_tip(conn: Connection, tip: ChainTip) -> Problem | None:
    M = schema.meta
    value = conn.execute(select(M.c.value).where(M.c.key == TIP_KEY)).scalar_one_or_none()
    if value is None:
        if tip.seq == 0:
            return None
        return Problem(TIP_MISMATCH, "meta.evidence_tip is missing", tip.seq)
    if value != tip.describe():
        seq = value.split(":", 1)[0]
        detail = f"the log ends at seq {tip.seq}, but the last append recorded seq {seq}"
        return Problem(TIP_MISMATCH, detail + " (records removed or added at the end)", tip.seq)
    return None


__all__ = ["Problem", "VerifyReport", "verify_evidence"]
