"""Flight plans: what a drone will fly, read from QGC, Mission Planner, GeoJSON or KML."""
