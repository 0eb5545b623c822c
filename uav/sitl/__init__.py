"""Simulated drones: configurations in ``sitl_configs/``, launching ArduPilot SITL or uav's
emulator, tracking the processes, and waiting until each vehicle is ready to fly."""

from uav.sitl.binary import SimKind, choose_kind, find_binary, find_copter_defaults
from uav.sitl.config import Home, SitlConfig, load_config, load_configs, select_configs
from uav.sitl.control import Instance, InstanceStatus, down, register, status, up
from uav.sitl.errors import SitlError, SitlTimeout
from uav.sitl.intruder import fly_mission, load_mission
from uav.sitl.launch import Launcher, build_command
from uav.sitl.ports import connect_url, ports_for, reserve_instances
from uav.sitl.ready import ReadyState, force_disarm, wait_ready
from uav.sitl.tracking import MissionRecord, ProcessRecord, ProcessTable, sitl_state_dir

__all__ = [
    "Home",
    "Instance",
    "InstanceStatus",
    "Launcher",
    "MissionRecord",
    "ProcessRecord",
    "ProcessTable",
    "ReadyState",
    "SimKind",
    "SitlConfig",
    "SitlError",
    "SitlTimeout",
    "build_command",
    "choose_kind",
    "connect_url",
    "down",
    "find_binary",
    "find_copter_defaults",
    "fly_mission",
    "force_disarm",
    "load_config",
    "load_configs",
    "load_mission",
    "ports_for",
    "register",
    "reserve_instances",
    "select_configs",
    "sitl_state_dir",
    "status",
    "up",
    "wait_ready",
]
