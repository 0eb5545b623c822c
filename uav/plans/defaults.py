"""Defaults of the plan check, in a module light enough for the CLI to import at start-up."""

DEFAULT_BUFFER_M = 20.0  # lateral buffer around zones
DEFAULT_MAX_ALT_M = 120.0  # China's limit for light drones, above take-off
DEFAULT_TIME_MARGIN_S = 60.0  # added before/after each zone's active time
HOME_TOLERANCE_M = 25.0  # the drone's home may be this far from the plan's
