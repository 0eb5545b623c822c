"""The evidence log: detections with their judgements, track and incident changes, appended to
the database's hash chain in batched transactions.

Use::

    with EvidenceLog(store) as log:
        log.append_detections(detections, judgements, keys)   # keys: Detection.key each
        log.append_tracks(tracks)
        log.append_incidents(incidents)
        log.flush()            # optional: commit now (also done every batch_s, and on close)

Records are buffered and written in one transaction per batch: on :meth:`flush`, when the
buffer holds ``batch_max`` detections, when an append finds the oldest buffered record older
than ``batch_s``, and from a background thread every ``batch_s`` while records wait
(``background=True``). Each transaction inserts the chained ``evidence`` records and their
query rows (``detections``, ``tracks``, ``incidents``) together.

Durability (SQLite): WAL mode with ``synchronous=NORMAL`` (the store's default) makes every
committed batch survive a crash or ``kill -9`` of the process; a kill loses at most the open
batch (under ``batch_s`` of data plus the commit in flight) and never corrupts the log: a
transaction is in the log whole or not at all. A power cut or OS crash may also lose the last
committed batches (the WAL is not fsynced per commit); give ``synchronous="FULL"`` to fsync
every batch (one fsync per batch, cheap at these batch sizes). The WAL is copied into the
database (a checkpoint, with its fsyncs) every ~40 MB by :class:`uav.detect.checkpoint.
WalCheckpointer` on a connection and thread of its own, not inside a batch's commit
(``checkpoint_thread=False``: SQLite does it in the commit that crosses the size); that
changes when the copy happens, not what a crash keeps.

Idempotent: a detection whose key is already logged (or buffered) is skipped, not logged
again. Several writers on one database (two ``uav detect listen``, ``uav permits add`` while
one runs) are safe, with no long-held lock: each batch transaction first takes the chain's
write lock (:func:`uav.store.evidence.lock_chain`: SQLite's write lock, a row lock on
PostgreSQL) until its commit, then reads the tip, checks its keys against what is logged
(:func:`uav.store.evidence.logged_keys`: a range scan of the batch's time span on the key
index, which grows at one end) and chains from there; the unique index on the key refuses
whatever got past that.

The hot inserts are ``executemany`` of positional rows straight to the driver (SQLite and
PostgreSQL alike, :func:`uav.store.evidence.fast_insert`); the rest is SQLAlchemy Core.

Payloads and query rows: :mod:`uav.detect.evidence_records`.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from uav.detect.checkpoint import WalCheckpointer
from uav.detect.evidence_records import (
    Batch,
    Entry,
    detection_from_payload,
    detection_payload,
    detection_payloads,
    detection_row_tail,
    prepare,
    require_finite,
    state_payload,
    upsert_states,
)
from uav.detect.model import (
    Detection,
    Incident,
    Judgement,
    Track,
    sighting_keys,
)
from uav.errors import StoreError
from uav.store import Store
from uav.store import schema_evidence as S
from uav.store.evidence import (
    APPEND_ATTEMPTS,
    ChainTip,
    fast_insert_flat,
    is_retryable,
    lock_chain,
    logged_keys,
    read_tip,
    write_tip,
)

WAL_CHECKPOINT_BYTES = 40 * 2**20  # copy the WAL into the database (with an fsync) this often
RECORD_WAL_BYTES = 800  # about what a record adds to the WAL (payload, hashes, query row, index)


# ------------------------------------------------------------------------------ the log


@dataclass(frozen=True)
class Commit:
    """What one batch transaction wrote."""

    records: int
    detections: int
    duplicates: int  # detections skipped because their key was already logged
    tip: ChainTip


class EvidenceLog:
    """Appends to the evidence chain of ``store``; see the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        batch_s: float = 0.25,
        batch_max: int = 50_000,
        background: bool = True,
        synchronous: str = "NORMAL",
        on_commit: Callable[[Commit], None] | None = None,
        checkpoint_thread: bool = True,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.store = store
        self.batch_s = batch_s
        self.batch_max = batch_max
        self.on_commit = on_commit
        self.committed_records = 0
        self.committed_detections = 0
        self.duplicates = 0
        self._buf: list[Entry] = []
        self._buf_detections = 0
        self._buf_since: float | None = None  # monotonic time of the oldest buffered entry
        # keys known_keys found unlogged, and the tip then: while the tip has not moved (no
        # writer appended since), they are still unlogged and the flush need not ask again
        self._absent: set[str] = set()
        self._absent_tip: ChainTip | None = None
        self._buf_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._error: BaseException | None = None
        self._closed = False
        self._conn = store.engine.connect()
        self._sqlite = self._conn.dialect.name == "sqlite"
        self._checkpointer: WalCheckpointer | None = None
        self._autocheckpoint_pages = 0
        self._checkpoint_cpu_s = 0.0  # of a checkpointer that stopped
        if self._sqlite:
            self._conn.exec_driver_sql("PRAGMA cache_size=-65536")  # 64 MiB for index pages
            self._conn.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
            page_bytes = int(self._conn.exec_driver_sql("PRAGMA page_size").scalar_one())
            self._autocheckpoint_pages = max(1000, WAL_CHECKPOINT_BYTES // page_bytes)
            if checkpoint_thread:  # checkpoints off the writer (uav.detect.checkpoint)
                self._checkpointer = WalCheckpointer(store.engine, WAL_CHECKPOINT_BYTES)
                self._conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            else:
                self._sqlite_checkpoints()
            self._conn.commit()
        with self._flush_lock:
            self.tip = read_tip(self._conn)
            self._conn.rollback()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="evidence-flush", daemon=True)
            self._thread.start()

    # --------------------------------------------------------------------- appending

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are logged already (or waiting in the buffer)."""
        self._raise_pending_error()
        with self._buf_lock:
            pending = {k for e in self._buf for k in e[3]} if self._buf else set()
        found = {k for k in keys if k in pending} if pending else set()
        rest = {k for k in keys if k not in found} if found else set(keys)
        if rest:
            with self._flush_lock:
                tip = read_tip(self._conn)  # the same read transaction as the query
                logged = logged_keys(self._conn, rest)
                self._conn.rollback()
                self._absent = rest - logged
                self._absent_tip = tip
            found |= logged
        return found

    def append_detections(
        self,
        detections: Sequence[Detection],
        judgements: Sequence[Judgement],
        keys: Sequence[str] | None = None,
        sightings: Sequence[str] | None = None,
    ) -> None:
        """Buffer detections with their judgements (``keys[i]`` = ``detections[i].key``,
        ``sightings[i]`` = ``detections[i].sighting_json()``: computed when not given).
        Their payloads are made here: a non-finite number or a value canonical JSON cannot
        hold raises ValueError and nothing of the call is buffered."""
        n = len(detections)
        if len(judgements) != n:
            raise ValueError("one judgement per detection")
        require_finite([d.time_s for d in detections], "detection time_s")
        if sightings is None:
            sightings = [d.sighting_json() for d in detections]
        elif len(sightings) != n:
            raise ValueError("one sighting per detection")
        if keys is None:
            keys = sighting_keys([d.time_s for d in detections], sightings)
        elif len(keys) != n:
            raise ValueError("one key per detection")
        payloads, zone_lists = detection_payloads(detections, judgements, sightings)
        self._append(("detection", detections, judgements, keys, payloads, zone_lists), n)

    def append_detection(self, detection: Detection, judgement: Judgement) -> None:
        self.append_detections([detection], [judgement])

    def append_tracks(self, tracks: Sequence[Track]) -> None:
        if tracks:
            require_finite([t.last_s for t in tracks], "track last_s")
            payloads = [state_payload(t) for t in tracks]
            self._append(("track", list(tracks), (), (), payloads, ()), 0)

    def append_incidents(self, incidents: Sequence[Incident]) -> None:
        if incidents:
            require_finite([i.updated_s for i in incidents], "incident updated_s")
            payloads = [state_payload(i) for i in incidents]
            self._append(("incident", list(incidents), (), (), payloads, ()), 0)

    def _append(self, entry: Entry, n_detections: int) -> None:
        self._raise_pending_error()
        if self._closed:
            raise StoreError("the evidence log is closed")
        with self._buf_lock:
            if self._buf_since is None:
                self._buf_since = time.monotonic()
            self._buf.append(entry)
            self._buf_detections += n_detections
            due = self._due_locked()
        if due:
            self.flush()

    def _due_locked(self) -> bool:
        if not self._buf:
            return False
        if self._buf_detections >= self.batch_max:
            return True
        return self._buf_since is not None and time.monotonic() - self._buf_since >= self.batch_s

    # --------------------------------------------------------------------- committing

    def flush(self) -> Commit | None:
        """Commit everything buffered in one transaction; None when nothing was buffered."""
        self._raise_pending_error()
        return self._flush()

    def _flush(self) -> Commit | None:
        # The batch allocates many small objects that live until the commit: the cyclic GC
        # would walk every live object of the process several times per batch for nothing
        # (payloads and rows hold no cycles). Paused for the flush only.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._flush_batch()
        finally:
            if gc_was_enabled:
                gc.enable()

    def _flush_batch(self) -> Commit | None:
        with self._flush_lock:
            with self._buf_lock:
                entries, self._buf = self._buf, []
                self._buf_detections = 0
                self._buf_since = None
            if not entries:
                return None
            try:
                commit = self._write(prepare(entries, self.tip))
            except BaseException:
                with self._buf_lock:  # keep the batch for the next attempt, in order
                    self._buf = entries + self._buf
                    self._buf_detections += sum(len(e[1]) for e in entries if e[0] == "detection")
                    self._buf_since = self._buf_since or time.monotonic()
                raise
        self.committed_records += commit.records
        self.committed_detections += commit.detections
        self.duplicates += commit.duplicates
        if self.on_commit is not None:
            self.on_commit(commit)
        return commit

    def _write(self, batch: Batch) -> Commit:
        """One transaction under the chain lock: drop the batch's keys already logged (and
        repeats inside it), chain from the tip (the batch came chained from the tip the log
        last saw: chained again only when that moved or something was dropped), insert. A
        lost race rolls back and retries."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._conn.begin():
                    lock_chain(self._conn)
                    start = read_tip(self._conn)
                    work, dropped = self._dedupe(batch, start)
                    if work.start != start:
                        work = work.rechained(start)
                    tip = self._insert(self._conn, work)
            except SQLAlchemyError as exc:
                self._absent_tip = None  # ask the database again on the retry
                if attempt + 1 >= APPEND_ATTEMPTS or not is_retryable(exc):
                    raise StoreError(f"cannot write the evidence log: {exc}") from exc
                continue
            self.tip = tip
            self._absent_tip = None  # these keys are logged now
            self._written(work.records)
            return Commit(work.records, len(work.keys), dropped, tip)
        raise AssertionError("unreachable")

    def _dedupe(self, batch: Batch, tip: ChainTip) -> tuple[Batch, int]:
        keys = batch.keys
        if not keys:
            return batch, 0
        if tip == self._absent_tip and self._absent.issuperset(keys):
            present: set[str] = set()  # asked at this very tip: nothing appended since
        else:
            present = logged_keys(self._conn, keys)
        if not present and len(set(keys)) == len(keys):
            return batch, 0
        seen: set[str] = set()
        drop: set[int] = set()
        for i, k in enumerate(keys):
            if k in present or k in seen:
                drop.add(i)
            seen.add(k)
        return batch.rechained(tip, drop), len(drop)

    @staticmethod
    def _insert(conn: Connection, batch: Batch) -> ChainTip:
        fast_insert_flat(conn, S.evidence, batch.evidence)
        fast_insert_flat(conn, S.detections, batch.rows)
        upsert_states(conn, batch.start.seq + 1, batch.states)
        tip = batch.end
        if batch.evidence:
            write_tip(conn, tip)
        return tip

    def _written(self, records: int) -> None:
        """Tell the checkpointer; back to SQLite's own checkpoints if it failed."""
        ck = self._checkpointer
        if ck is None:
            return
        if ck.alive():
            ck.wrote(records * RECORD_WAL_BYTES)
            return
        self._checkpointer = None
        self._checkpoint_cpu_s += ck.cpu_s
        self._sqlite_checkpoints()
        self._conn.commit()
        ck.close()

    def _sqlite_checkpoints(self) -> None:
        self._conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={self._autocheckpoint_pages}")

    @property
    def checkpoint_cpu_s(self) -> float:
        """CPU time the checkpoint thread spent so far (0 without one)."""
        ck = self._checkpointer
        return self._checkpoint_cpu_s + (0.0 if ck is None else ck.cpu_s)

    # --------------------------------------------------------------------- lifecycle

    def _run(self) -> None:
        tick_s = max(self.batch_s / 4.0, 0.01)
        while not self._stop.wait(tick_s):
            with self._buf_lock:
                due = self._due_locked()
            if not due:
                continue
            try:
                self._flush()
            except BaseException as exc:  # surfaced to the appending thread
                self._error = exc
                return

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            exc = self._error
            raise StoreError(f"the evidence log's background flush failed: {exc}") from exc

    def close(self) -> None:
        """Stop the background flush, commit what is buffered, release the connection."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(30.0, self.batch_s * 10))
        try:
            if self._error is None:
                self._flush()
            self._raise_pending_error()
        finally:
            self._closed = True
            if self._checkpointer is not None:
                self._checkpointer.close()
            with self._flush_lock:
                if self._sqlite:
                    self._conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                    self._conn.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
                    self._conn.exec_driver_sql("PRAGMA cache_size=-2000")
                    self._conn.commit()
                self._conn.close()

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "Commit",
    "EvidenceLog",
    "detection_from_payload",
    "detection_payload",
    "detection_row_tail",
    "state_payload",
]
