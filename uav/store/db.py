"""The :class:`Store`: every read and write of uav's state goes through it.

SQLAlchemy Core only, no dialect-specific SQL: the same code runs on SQLite (default, one file
in the user data directory, WAL mode) and PostgreSQL (``--db postgresql://...``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, make_url, select
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from uav.errors import StoreError
from uav.store import schema, schema_events, schema_evidence
from uav.store.drones import DronesMixin
from uav.store.events import EventsMixin
from uav.store.evidence import EvidenceMixin
from uav.store.grants import GrantsMixin
from uav.store.zones import ZonesMixin


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("uav", appauthor=False) / "uav.db"


def resolve_db_url(db: str | os.PathLike[str] | None) -> str:
    """``--db`` / ``UAV_DB`` / the default, as an SQLAlchemy URL."""
    value = str(db) if db else os.environ.get("UAV_DB") or str(default_db_path())
    if "://" in value:
        return value
    path = Path(value).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the database folder {path.parent}: {exc}") from None
    return f"sqlite:///{path}"


SQLITE_PAGE_SIZE = 16_384
"""Bytes per page of a new SQLite file (SQLite's default is 4,096). The evidence log appends
rows of ~700 bytes and commits a batch at a time: with 16 KiB pages each batch writes and
checkpoints a quarter as many pages (fewer WAL frames, fewer write calls), about a third
less time per commit. Set before anything is written (WAL included); an existing file keeps
the page size it was created with."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # a new file only: see above
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _shown(url: str) -> str:
    """``url`` as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


class Store(ZonesMixin, GrantsMixin, DronesMixin, EventsMixin, EvidenceMixin):
    """uav's database. Open with :meth:`open`; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, db: str | os.PathLike[str] | None = None) -> Store:
        url = resolve_db_url(db)
        try:
            engine = create_engine(url, future=True)
        except (ImportError, ArgumentError) as exc:  # no such dialect or driver, a bad URL
            raise StoreError(
                f"cannot open the database {_shown(url)}: {exc} (PostgreSQL needs a driver: "
                "pip install 'psycopg[binary]', URL postgresql+psycopg://USER@HOST/DB)"
            ) from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            store._migrate()
        except OperationalError as exc:
            raise StoreError(f"cannot open the database {_shown(url)}: {exc.orig}") from None
        return store

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back on any error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            v = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
            ).scalar_one_or_none()
        return int(v) if v is not None else 0

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            schema.metadata.create_all(conn, tables=[schema.meta])
            row = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
            ).scalar_one_or_none()
            version = int(row) if row is not None else 0
            if version > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"the database has schema version {version}, newer than this uav "
                    f"({schema.SCHEMA_VERSION}); upgrade uav"
                )
            for target in range(version + 1, schema.SCHEMA_VERSION + 1):
                MIGRATIONS[target](conn)
            if version == 0:
                conn.execute(schema.meta.insert().values(key="schema_version", value="0"))
            if version != schema.SCHEMA_VERSION:
                conn.execute(
                    schema.meta.update()
                    .where(schema.meta.c.key == "schema_version")
                    .values(value=str(schema.SCHEMA_VERSION))
                )

    def count(self, table: str) -> int:
        t = schema.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t)).scalar_one())


def _v1(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.zones, schema.grants])


def _v2(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.drones])


def _v3(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=schema_events.TABLES)


def _v4(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=schema_evidence.TABLES)


MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4}

__all__ = ["Sequence", "Store", "default_db_path", "resolve_db_url"]
