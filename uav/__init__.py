"""uav: airspace management and no-fly enforcement for police drone units."""

__version__ = "0.1.0"
