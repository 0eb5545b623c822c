"""The database: one SQLite file by default, PostgreSQL for shared deployments."""

from uav.store.db import Store, default_db_path, resolve_db_url

__all__ = ["Store", "default_db_path", "resolve_db_url"]
