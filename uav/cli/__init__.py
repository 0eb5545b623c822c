"""Command groups of the ``uav`` CLI. Modules here import only typer at import time; the
library (shapely, pyproj, SQLAlchemy) is imported inside commands so ``uav --help`` is quick."""
