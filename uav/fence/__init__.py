"""Zones compiled into ArduPilot's onboard fence: ``uav fence push/show/clear``.

* :mod:`~uav.fence.select`: which zones matter to a drone's flight, and why the others do not.
* :mod:`~uav.fence.flat`: the affine local frame the geometry is simplified in.
* :mod:`~uav.fence.simplify`: conservative simplification (an exclusion always grows, an
  inclusion always shrinks), verified after rounding to what MAVLink carries.
* :mod:`~uav.fence.budget`: ArduCopter 4.7's fence storage model (70 items, 560 bytes).
* :mod:`~uav.fence.allocate`: the vertex budget shared out between the polygons.
* :mod:`~uav.fence.compile`: selected zones -> :class:`~uav.fence.compile.FenceSpec` (items,
  parameters, and a report of what was simplified, refused or left to the monitor).
* :mod:`~uav.fence.refuse`: why a compiled fence must not be pushed (home, rally points,
  the drone, its mission; zones only the monitor can enforce).
* :mod:`~uav.fence.items`: fence shapes <-> MISSION_ITEM_INT items.
* :mod:`~uav.fence.push`: the drone side: refusals, upload, verify, show, clear.

Nothing here is imported by ``uav`` at start-up; the command line imports it inside commands.
"""
