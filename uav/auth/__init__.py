"""Authorisations: an officer's grant letting one drone into one zone for a time."""

from uav.auth.model import Grant

__all__ = ["Grant"]
