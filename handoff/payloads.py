"""What the bot's stored replies say about a conversation: their route and ``understanding`` marks.

A ``bot_uttered`` message is stored with its payload (:mod:`handoff.gateway.sessions`);
its ``custom`` part carries ``route`` (``{"type", "target"}``, set by the action
server for every decision) and ``understanding`` (``clarify`` or ``fallback``).
The statistics, the learning queue and retention read them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def custom_of(payload: Any) -> Mapping[str, Any]:
    """The ``custom`` part of a stored payload; empty when there is none."""
    custom = payload.get("custom") if isinstance(payload, dict) else None
    return custom if isinstance(custom, dict) else {}


def understanding_of(payload: Any) -> str | None:
    """The reply's ``understanding`` mark (``clarify``, ``fallback``), if any."""
    mark = custom_of(payload).get("understanding")
    return mark if isinstance(mark, str) else None


def route_of(payload: Any) -> tuple[str, str] | None:
    """The reply's route as ``(type, target)``, if it states one."""
    route = custom_of(payload).get("route")
    if not isinstance(route, dict):
        return None
    kind, target = route.get("type"), route.get("target")
    return (kind, target) if isinstance(kind, str) and isinstance(target, str) else None
