"""Hand-made Remote ID messages for the MAVLink parser's tests (fields as pymavlink names
them; a broadcaster's own, id_or_mac all zero)."""

from __future__ import annotations

from typing import Any

NO_MAC = "00" * 20
LOCATION = {
    "target_system": 0, "target_component": 0, "id_or_mac": NO_MAC, "status": 2,
    "direction": 4500, "speed_horizontal": 830, "speed_vertical": 120, "latitude": 231000000,
    "longitude": 1133200000, "altitude_barometric": 99.5, "altitude_geodetic": 101.25,
    "height_reference": 1, "height": 80.0, "horizontal_accuracy": 10, "vertical_accuracy": 4,
    "barometer_accuracy": 0, "speed_accuracy": 3, "timestamp": 0xFFFF, "timestamp_accuracy": 0,
}  # fmt: skip


def basic_id(id_type: int, uas_id_hex: str) -> dict[str, Any]:
    return {
        "target_system": 0, "target_component": 0, "id_or_mac": NO_MAC, "id_type": id_type,
        "ua_type": 2, "uas_id": uas_id_hex,
    }  # fmt: skip
