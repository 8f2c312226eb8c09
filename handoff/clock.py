"""The clock the service reads; tests and benchmarks inject their own (see :mod:`opastin.clock`)."""

from __future__ import annotations

from opastin.clock import Clock, clock_from_environment, system_clock

__all__ = ["Clock", "clock_from_environment", "system_clock"]
