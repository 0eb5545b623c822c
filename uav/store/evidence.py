"""The evidence hash chain in the store, the permit rows, and the evidence queries.

The chain, exactly (so an auditor can recompute it):

* ``evidence`` rows are numbered ``seq`` = 1, 2, 3, ... without gaps;
* ``payload`` is canonical JSON: ``orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)`` (sorted
  keys, compact, UTF-8 with non-ASCII as is, floats in their shortest form: ``1e-7``; no
  NaN or infinity: refused before writing), stored as text; the hash is over that stored
  text, so recomputing it needs no JSON at all;
* ``hash`` = SHA-256 (lower-case hex) of the UTF-8 bytes of
  ``prev_hash + "\\n" + str(seq) + "\\n" + kind + "\\n" + repr(time_s) + "\\n" + payload``
  where ``repr(time_s)`` is Python's shortest round-trip text of the float (``1700000000.25``,
  ``1700000000.0``);
* ``prev_hash`` is the previous record's ``hash``; for seq 1 it is 64 zeros.

With Python and sqlite3::

    import hashlib, sqlite3
    prev, n = "0" * 64, 0
    rows = sqlite3.connect("uav.db").execute(
        "SELECT seq, kind, time_s, payload, prev_hash, hash FROM evidence ORDER BY seq")
    for seq, kind, t, payload, prev_hash, h in rows:
        n += 1
        text = f"{prev}\\n{seq}\\n{kind}\\n{t!r}\\n{payload}"
        assert seq == n and prev_hash == prev
        assert hashlib.sha256(text.encode()).hexdigest() == h
        prev = h

A detection record's ``detection`` object is the sighting, the payload's first member; the
``detections`` row's ``key`` (unique) is ``f"{floor(time_s * 1000):012x}"`` followed by the
first 20 hex digits of the SHA-256 of that object's text as it stands in the payload (its
canonical JSON: :func:`uav.detect.model.sighting_key`,
:func:`uav.detect.evidence_records.stored_key`)::

    start = len('{"detection":')
    sighting, end = json.JSONDecoder().raw_decode(payload, start)
    digest = hashlib.sha256(payload[start:end].encode()).hexdigest()
    key = f"{math.floor(sighting['time_s'] * 1000):012x}" + digest[:20]

``meta.evidence_tip`` holds ``"<seq>:<hash>"`` of the last record, updated in the same
transaction as every append (a truncated tail shows against it). Every append transaction
first writes that row (:func:`lock_chain`), which takes the database's write lock (SQLite) or
the row's lock (PostgreSQL) until commit: appends are serialised, read the tip and check keys
against committed data only. ``seq`` being the primary key backs this up: two writers racing
for the same numbers cannot both commit; the loser rolls back and retries from the new tip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain as _chain
from typing import TYPE_CHECKING, Any

import shapely
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from uav.detect.model import KEY_TIME_DIGITS, canonical_json, canonical_text
from uav.detect.permits import Permit
from uav.errors import InputError, NotFound, StoreError
from uav.store import schema
from uav.store import schema_evidence as S
from uav.timeutil import now_utc

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection, Engine

GENESIS_HASH = "0" * 64
TIP_KEY = "evidence_tip"
APPEND_ATTEMPTS = 5  # a batch that loses a race for its seq numbers this often fails
KEY_QUERY_CHUNK = 500  # values per IN (...) query
INSERT_PARAMS = 999  # parameters per multi-row INSERT (SQLite's historic limit)
KEY_RUN_GAP_MS = 2_000  # keys further apart in time than this are looked up apart ...
KEY_ONE_RANGE_MS = 10_000  # ... unless all of them are within this
SHORT_RUN = 32  # runs of at most this many keys are probed one by one
E = S.evidence
P = S.permits

# (kind, time_s, payload) of a record about to be chained
PendingRecord = tuple[str, float, str]
# (seq, kind, time_s, payload, prev_hash, hash): an evidence row, in column order
EvidenceRow = tuple[int, str, float, str, str, str]


chain_rows = _chain.from_iterable  # rows -> their values, one after another


def record_hash(prev_hash: str, seq: int, kind: str, time_s: float, payload: str) -> str:
    text = f"{prev_hash}\n{seq}\n{kind}\n{float(time_s)!r}\n{payload}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ChainTip:
    seq: int  # 0 for an empty log
    hash: str

    def describe(self) -> str:
        return f"{self.seq}:{self.hash}"


def read_tip(conn: Connection) -> ChainTip:
    row = conn.execute(select(E.c.seq, E.c.hash).order_by(E.c.seq.desc()).limit(1)).first()
    return ChainTip(0, GENESIS_HASH) if row is None else ChainTip(int(row.seq), str(row.hash))


def chain(tip: ChainTip, records: Sequence[PendingRecord]) -> list[EvidenceRow]:
    """Number and hash ``records`` after ``tip`` (the hot loop: no calls beyond sha256)."""
    sha = hashlib.sha256
    prev, seq = tip.hash, tip.seq
    rows: list[EvidenceRow] = []
    add = rows.append
    for kind, time_s, payload in records:
        seq += 1
        t = float(time_s)
        h = sha(f"{prev}\n{seq}\n{kind}\n{t!r}\n{payload}".encode()).hexdigest()
        add((seq, kind, t, payload, prev, h))
        prev = h
    return rows


def fast_insert(
    conn: Connection, table: Any, rows: Sequence[Sequence[Any]], on_conflict: str = ""
) -> None:
    """Positional rows (every column, in table order) straight to the driver: multi-row
    ``INSERT ... VALUES (...), (...)`` statements of up to ``INSERT_PARAMS`` parameters
    each, sent with one ``executemany`` (fewer statement steps than a row each).
    ``on_conflict``: an ``ON CONFLICT ...`` clause ending each statement."""
    fast_insert_flat(conn, table, list(chain_rows(rows)), on_conflict)


def fast_insert_flat(
    conn: Connection, table: Any, values: list[Any], on_conflict: str = ""
) -> None:
    """:func:`fast_insert` of rows given one after another in one flat list (every column
    of the first row, then of the second, ...): the statements' parameters are slices of
    it, no tuple per row."""
    n_cols = len(table.columns)
    if not values:
        return
    if len(values) % n_cols:
        raise ValueError(f"{len(values)} values are not rows of {n_cols} columns")
    style = conn.dialect.paramstyle
    if style not in ("qmark", "format", "pyformat"):
        names = [c.name for c in table.columns]
        rows = [values[i : i + n_cols] for i in range(0, len(values), n_cols)]
        conn.execute(table.insert(), [dict(zip(names, r, strict=True)) for r in rows])
        return
    mark = "?" if style == "qmark" else "%s"
    per = max(1, INSERT_PARAMS // n_cols)
    step = per * n_cols
    cols = ", ".join(c.name for c in table.columns)
    one = "(" + ", ".join([mark] * n_cols) + ")"
    full = len(values) - len(values) % step
    if full:
        groups = [tuple(values[i : i + step]) for i in range(0, full, step)]
        sql = f"INSERT INTO {table.name} ({cols}) VALUES {', '.join([one] * per)}{on_conflict}"
        conn.exec_driver_sql(sql, groups)
    if full < len(values):
        rest = values[full:]
        marks = ", ".join([one] * (len(rest) // n_cols))
        sql = f"INSERT INTO {table.name} ({cols}) VALUES {marks}{on_conflict}"
        conn.exec_driver_sql(sql, tuple(rest))


def fast_upsert(
    conn: Connection,
    table: Any,
    id_col: str,
    rows: Sequence[Sequence[Any]],
    fixed: Sequence[str] = (),
) -> None:
    """Insert positional rows (every column, in table order), each replacing the stored row
    with its ``id_col`` (``INSERT ... ON CONFLICT DO UPDATE``: SQLite and PostgreSQL); ids
    must be distinct within ``rows``. Columns in ``fixed`` keep their stored value (they
    never change for an id: their indexes are not rewritten)."""
    if not rows:
        return
    style = conn.dialect.paramstyle
    if style not in ("qmark", "format", "pyformat"):
        ids = [r[[c.name for c in table.columns].index(id_col)] for r in rows]
        for i in range(0, len(ids), KEY_QUERY_CHUNK):
            conn.execute(table.delete().where(table.c[id_col].in_(ids[i : i + KEY_QUERY_CHUNK])))
        fast_insert(conn, table, rows)
        return
    names = [c.name for c in table.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != id_col and n not in fixed)
    fast_insert(conn, table, rows, f" ON CONFLICT ({id_col}) DO UPDATE SET {updates}")


def write_tip(conn: Connection, tip: ChainTip) -> None:
    M = schema.meta
    res = conn.execute(update(M).where(M.c.key == TIP_KEY).values(value=tip.describe()))
    if not res.rowcount:
        conn.execute(M.insert().values(key=TIP_KEY, value=tip.describe()))


def lock_chain(conn: Connection) -> None:
    """Take the chain's write lock for this transaction (see the module docstring)."""
    M = schema.meta
    res = conn.execute(update(M).where(M.c.key == TIP_KEY).values(value=M.c.value))
    if not res.rowcount:
        conn.execute(M.insert().values(key=TIP_KEY, value=ChainTip(0, GENESIS_HASH).describe()))


def logged_keys(conn: Connection, keys: Collection[str]) -> set[str]:
    """Which of ``keys`` (detection keys; a set is used as it is) the ``detections`` table
    holds.

    Keys start with their time, so the sorted keys fall into runs (all of them when they
    span ``KEY_ONE_RANGE_MS`` at most, else consecutive keys at most ``KEY_RUN_GAP_MS``
    apart). A run of many keys is one range scan of the key index,
    returning only what is logged in the run's time span (in steady ingest: the little the
    previous batch left in it); the keys of short runs are probed by ``IN (...)``."""
    wanted = keys if isinstance(keys, set | frozenset) else set(keys)
    if not wanted:
        return set()
    D = S.detections
    found: set[str] = set()
    probes: list[str] = []
    lo, hi = min(wanted), max(wanted)
    if len(wanted) > SHORT_RUN and _key_ms(hi) - _key_ms(lo) <= KEY_ONE_RANGE_MS:
        ranges = [(lo, hi)]  # the usual batch: a few seconds, one range (no sort needed)
    else:
        ranges = []
        for run in _key_runs(sorted(wanted)):
            if len(run) <= SHORT_RUN:
                probes += run
            else:
                ranges.append((run[0], run[-1]))
    for first, last in ranges:
        q = select(D.c.key).where(D.c.key >= first, D.c.key <= last)
        found.update(k for k in conn.execute(q).scalars() if k in wanted)
    for i in range(0, len(probes), KEY_QUERY_CHUNK):
        q = select(D.c.key).where(D.c.key.in_(probes[i : i + KEY_QUERY_CHUNK]))
        found.update(conn.execute(q).scalars())
    return found


def _key_runs(keys: list[str]) -> list[list[str]]:
    """Sorted keys, split where their time prefix jumps by more than ``KEY_RUN_GAP_MS``."""
    if _key_ms(keys[-1]) - _key_ms(keys[0]) <= KEY_ONE_RANGE_MS:
        return [keys]  # the usual batch: a few seconds at most, one range
    runs: list[list[str]] = []
    run: list[str] = []
    last_ms = -1
    for k in keys:
        ms = _key_ms(k)
        if run and ms - last_ms > KEY_RUN_GAP_MS:
            runs.append(run)
            run = []
        run.append(k)
        last_ms = ms
    if run:
        runs.append(run)
    return runs


def _key_ms(key: str) -> int:
    return int(key[:KEY_TIME_DIGITS], 16)


def append_evidence(conn: Connection, records: Sequence[PendingRecord]) -> list[EvidenceRow]:
    """Chain ``records`` after the tip, under the chain lock, and insert them."""
    lock_chain(conn)
    rows = chain(read_tip(conn), records)
    fast_insert(conn, E, rows)
    if rows:
        write_tip(conn, ChainTip(rows[-1][0], rows[-1][5]))
    return rows


def is_retryable(exc: Exception) -> bool:
    """A lost race for seq numbers / keys, or SQLite's write lock: worth another attempt."""
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


def permit_row(p: Permit) -> dict[str, Any]:
    return {
        "remote_id": p.remote_id,
        "icao_address": p.icao_address,
        "operator": p.operator,
        "start_s": p.start_s,
        "start_iso": p.start.isoformat(),
        "end_s": p.end_s,
        "end_iso": p.end.isoformat(),
        "zone_id": p.zone_id,
        "area_wkb": None if p.area is None else shapely.to_wkb(p.area),
        "area_source": p.area_source,
        "reason": p.reason,
        "created_iso": p.created_at.isoformat() if p.created_at else now_utc().isoformat(),
        "revoked_iso": p.revoked_at.isoformat() if p.revoked_at else None,
    }


def permit_payload(action: str, permit_id: int, row: dict[str, Any]) -> str:
    """The evidence payload of a permit change: the whole row (area WKB as hex)."""
    # str(): a row's keys may be a str subclass (quoted_name), which orjson does not take
    doc = {str(k): v for k, v in row.items() if k not in ("area_wkb", "seq", "id")}
    wkb = row.get("area_wkb")
    doc["area_wkb_hex"] = None if wkb is None else bytes(wkb).hex()
    return canonical_text({"action": action, "id": permit_id, "permit": doc})


def permit_from_row(r: Any) -> Permit:
    area = shapely.from_wkb(r.area_wkb) if r.area_wkb is not None else None
    return Permit(
        id=r.id,
        remote_id=r.remote_id,
        icao_address=r.icao_address,
        operator=r.operator,
        start=datetime.fromisoformat(r.start_iso),
        end=datetime.fromisoformat(r.end_iso),
        zone_id=r.zone_id,
        area=area,
        area_source=r.area_source,
        reason=r.reason,
        created_at=datetime.fromisoformat(r.created_iso),
        revoked_at=datetime.fromisoformat(r.revoked_iso) if r.revoked_iso else None,
    )


class EvidenceMixin:
    """Store methods for the evidence log's tables (the log itself: uav.detect.evidence)."""

    engine: Engine

    if TYPE_CHECKING:

        def begin(self) -> AbstractContextManager[Connection]: ...

    def evidence_tip(self) -> ChainTip:
        with self.engine.connect() as conn:
            return read_tip(conn)

    def evidence_count(self, kind: str | None = None) -> int:
        q = select(func.count()).select_from(E)
        if kind is not None:
            q = q.where(E.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def evidence_records(self, since_seq: int = 0, limit: int | None = None) -> list[Any]:
        q = select(E).where(E.c.seq > since_seq).order_by(E.c.seq)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(q).all())

    # ------------------------------------------------------------------------ permits

    def add_permit(self, permit: Permit) -> Permit:
        """Store a permit and chain its ``add`` record, in one transaction."""
        permit.validate()
        row = permit_row(permit)
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self.begin() as conn:
                    self._check_zone(conn, permit.zone_id)
                    res = conn.execute(P.insert().values(seq=0, **row))
                    assert res.inserted_primary_key is not None
                    new_id = int(res.inserted_primary_key[0])
                    self._chain_permit(conn, "add", new_id, row)
                return self.permit(new_id)
            except StoreError as exc:
                self._retry_or_raise(exc, attempt)
        raise AssertionError("unreachable")

    def revoke_permit(self, permit_id: int) -> Permit:
        """Mark a permit revoked (the row stays) and chain its ``revoke`` record."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self.begin() as conn:
                    r = conn.execute(select(P).where(P.c.id == permit_id)).first()
                    if r is None:
                        raise NotFound(f"no permit with id {permit_id}")
                    if r.revoked_iso:
                        raise InputError(f"permit {permit_id} was already revoked {r.revoked_iso}")
                    row = {k: v for k, v in r._mapping.items() if k not in ("id", "seq")}
                    row["revoked_iso"] = now_utc().isoformat()
                    conn.execute(update(P).where(P.c.id == permit_id).values(**row))
                    self._chain_permit(conn, "revoke", permit_id, row)
                return self.permit(permit_id)
            except StoreError as exc:
                self._retry_or_raise(exc, attempt)
        raise AssertionError("unreachable")

    def permit(self, permit_id: int) -> Permit:
        with self.engine.connect() as conn:
            r = conn.execute(select(P).where(P.c.id == permit_id)).first()
        if r is None:
            raise NotFound(f"no permit with id {permit_id}")
        return permit_from_row(r)

    def permits(
        self,
        *,
        include_revoked: bool = False,
        active_between: tuple[float, float] | None = None,
    ) -> list[Permit]:
        q = select(P).order_by(P.c.id)
        if not include_revoked:
            q = q.where(P.c.revoked_iso.is_(None))
        if active_between is not None:
            q = q.where(P.c.start_s <= active_between[1], P.c.end_s >= active_between[0])
        with self.engine.connect() as conn:
            return [permit_from_row(r) for r in conn.execute(q).all()]

    @staticmethod
    def _check_zone(conn: Connection, zone_id: int | None) -> None:
        if zone_id is None:
            return
        found = conn.execute(select(schema.zones.c.id).where(schema.zones.c.id == zone_id))
        if found.first() is None:
            raise InputError(f"no zone with id {zone_id}")

    @staticmethod
    def _chain_permit(conn: Connection, action: str, permit_id: int, row: dict[str, Any]) -> None:
        when = now_utc().timestamp()
        rows = append_evidence(conn, [("permit", when, permit_payload(action, permit_id, row))])
        conn.execute(update(P).where(P.c.id == permit_id).values(seq=rows[0][0]))

    @staticmethod
    def _retry_or_raise(exc: StoreError, attempt: int) -> None:
        cause = exc.__cause__
        if attempt + 1 < APPEND_ATTEMPTS and isinstance(cause, Exception) and is_retryable(cause):
            return
        raise exc


__all__ = [
    "GENESIS_HASH",
    "ChainTip",
    "EvidenceMixin",
    "append_evidence",
    "canonical_json",
    "chain",
    "fast_insert",
    "fast_insert_flat",
    "lock_chain",
    "logged_keys",
    "read_tip",
    "record_hash",
]
