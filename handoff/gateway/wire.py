"""Names and shapes on the wire: socket.io namespaces, rooms, and the messages the widget reads."""

from __future__ import annotations

from typing import Any

from opastin import messages

RESIDENTS = "/"
DESK = "/desk"
# The channel name Rasa sees in each message's metadata.
CHANNEL = "opastin-webchat"
# Sent to a socket that may have missed events (socket.io's Redis queue was away): catch up from
# the database. The widget requests its session again, the desk reloads what it shows.
RESYNC = "resync"


def resident_room(conversation_id: str) -> str:
    """Room of every socket of one resident conversation."""
    return f"resident:{conversation_id}"


def agent_room(agent_id: int) -> str:
    """Room of every desk socket of one agent."""
    return f"agent:{agent_id}"


def team_room(team_id: str) -> str:
    """Room of every desk socket of a team's members."""
    return f"team:{team_id}"


def common_room() -> str:
    """Room of every desk socket that may enter the common consultation room (:mod:`handoff.rooms`)."""
    return "rooms:common"


def system_uttered(text: str, **custom: Any) -> dict[str, Any]:
    """A system message for the resident."""
    return {"text": text, "custom": {"sender": "system", **custom}}


def queue_message(position: int, queue_length: int, wait: int | None) -> dict[str, Any]:
    """The resident's place in the queue (the widget shows it; no text)."""
    queue_info = {"position": position, "queue_length": queue_length, "estimated_wait_s": wait}
    return {"custom": {"sender": "system", "queue": queue_info}}


def emergency_message(level: str) -> dict[str, Any]:
    """The emergency guidance of ``level``, with its route for the widget."""
    return system_uttered(
        messages.text(f"gateway.emergency.{level}"), route={"type": "emergency", "target": level}
    )
