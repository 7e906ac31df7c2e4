"""Sensors: the inbox folder today; budget alerts, health probes and the upload webhook come next (roadmap)."""

from .inbox import inbox_sensor

sensors = [inbox_sensor]

__all__ = ["sensors", "inbox_sensor"]
