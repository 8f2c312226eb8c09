"""The handoff's summary and bot transcript, built from a conversation's tracker events.

Personal identity codes are masked here already (the service masks them too).
Button payloads (``/join_queue`` …) are not the resident's words and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from opastin.privacy import mask_hetu

MAX_SUMMARY_CHARS = 1000
MAX_TURNS = 200
MAX_TURN_CHARS = 4000
SENDERS = {"user": "resident", "bot": "bot"}


def _turns(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    turns = []
    for event in events:
        sender = SENDERS.get(str(event.get("event")))
        text = (event.get("text") or "").strip()
        if sender is None or not text or text.startswith("/"):
            continue
        turn: dict[str, Any] = {"sender": sender, "text": mask_hetu(text)[:MAX_TURN_CHARS]}
        if isinstance(event.get("timestamp"), (int, float)):
            turn["timestamp"] = datetime.fromtimestamp(event["timestamp"], UTC).isoformat()
        turns.append(turn)
    return turns


def transcript(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The latest :data:`MAX_TURNS` turns of resident and bot text, oldest first."""
    return _turns(events)[-MAX_TURNS:]


def summary(events: Iterable[Mapping[str, Any]]) -> str:
    """The resident's own messages, masked, joined with " / " and cut to :data:`MAX_SUMMARY_CHARS`."""
    said = " / ".join(turn["text"] for turn in _turns(events) if turn["sender"] == "resident")
    return said if len(said) <= MAX_SUMMARY_CHARS else said[: MAX_SUMMARY_CHARS - 1] + "…"
