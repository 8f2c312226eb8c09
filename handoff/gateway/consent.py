"""The resident's answer to a transfer question: the buttons offered and the replies understood."""

from __future__ import annotations

from typing import Any

from opastin import messages

YES_PAYLOAD = "/transfer_consent_yes"
NO_PAYLOAD = "/transfer_consent_no"
YES = frozenset({YES_PAYLOAD, "kyllä", "kylla", "joo", "sopii", "ok"})
NO = frozenset({NO_PAYLOAD, "ei", "en", "ei sovi", "ei kiitos"})


def quick_replies() -> list[dict[str, Any]]:
    """The two buttons under a transfer question."""
    return [
        {"content_type": "text", "title": messages.text("gateway.transfer_yes"), "payload": YES_PAYLOAD},
        {"content_type": "text", "title": messages.text("gateway.transfer_no"), "payload": NO_PAYLOAD},
    ]


def consent_answer(text: str) -> bool | None:
    """``True``/``False`` if ``text`` answers a transfer question, else ``None``."""
    folded = text.strip().strip(".!").casefold()
    if folded in YES:
        return True
    if folded in NO:
        return False
    return None
