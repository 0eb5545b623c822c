"""Coordinate systems and local metric projections."""
