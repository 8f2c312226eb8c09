"""Typing indicators of a live chat, both ways: only a state ("typing" or "stopped"), never text.

The resident's widget sends ``typing {typing: true|false}`` on its socket; the
desk sends ``typing {conversation_id, typing}`` on ``/desk``. The gateway relays
a state only within a live chat: the conversation is ``active`` and held by the
agent, and the resident's side is the socket bound to that conversation. The
resident's page gets ``typing {typing}``, the holding agent's desks
``typing {conversation_id, typing}``; nobody else, and never Rasa.

Input is untrusted: anything but the exact payload is ignored. Each sender's
states in a chat (the resident's conversation over all its sockets; an agent
in one chat over all their desks) pass a :class:`TypingGate` first: at most
one "typing" per :data:`MIN_INTERVAL_S` (the pages send one every 2.5 s while
keys are pressed), and a "stopped" only after a "typing" passed; the rest is
dropped without a word. Nothing is stored or logged.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

# The pages send "typing" at most every 2.5 s; the server lets one through every 2 s
# (a little slack for the network), and drops what comes faster.
MIN_INTERVAL_S = 2.0
# How many senders' gates the process keeps (each resident conversation; each agent and chat).
MAX_GATES = 10_000
# One desk socket's "typing" events before the gates and their database check: 5 at once, then 1 a second.
DESK_SOCKET_EVENTS = (5, 1.0)
EVENT = "typing"
# A conversation id as the service API accepts it (the Rasa sender id).
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


class TypingGate:
    """One sender's typing state in one chat: throttles "typing", passes "stopped" only after it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, interval: float = MIN_INTERVAL_S) -> None:
        self.clock, self.interval = clock, interval
        self.typing = False
        self._last_start: float | None = None

    def allow(self, typing: bool) -> bool:
        """Whether to relay this state now; records it if so."""
        if not typing:
            passed, self.typing = self.typing, False
            return passed
        now = self.clock()
        if self._last_start is not None and now - self._last_start < self.interval:
            return False
        self._last_start, self.typing = now, True
        return True


class TypingGates:
    """A :class:`TypingGate` per sender and chat; at most ``limit`` of them, the idlest forgotten first.

    A gate is made by a "typing" only, so a "stopped" alone never takes room.
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._gates: OrderedDict[Hashable, TypingGate] = OrderedDict()

    def allow(self, key: Hashable, typing: bool) -> bool:
        """Whether to relay the state of sender and chat ``key`` now."""
        gate = self._gates.get(key)
        if gate is None:
            if not typing:
                return False
            gate = self._gates[key] = TypingGate(self.clock)
            while len(self._gates) > self.limit:
                self._gates.popitem(last=False)
        else:
            self._gates.move_to_end(key)
        return gate.allow(typing)

    def __len__(self) -> int:
        return len(self._gates)


def resident_state(data: Any) -> bool | None:
    """The state of a resident's ``typing`` payload (exactly ``{"typing": bool}``), else ``None``."""
    if isinstance(data, dict) and data.keys() == {"typing"} and isinstance(data["typing"], bool):
        return data["typing"]
    return None


def valid_conversation_id(conversation_id: str) -> bool:
    """Whether ``conversation_id`` has the shape of a conversation id (checked before any lookup)."""
    return _CONVERSATION_ID.fullmatch(conversation_id) is not None


def desk_state(data: Any) -> tuple[str, bool] | None:
    """The chat and state of a desk's ``typing`` payload (``{conversation_id, typing}``), else ``None``."""
    if not isinstance(data, dict) or data.keys() != {"conversation_id", "typing"}:
        return None
    conversation_id, typing = data["conversation_id"], data["typing"]
    if not isinstance(typing, bool) or not isinstance(conversation_id, str):
        return None
    if not valid_conversation_id(conversation_id):
        return None
    return conversation_id, typing


def to_resident(typing: bool) -> dict[str, bool]:
    """What the resident's page gets: the professional's state."""
    return {"typing": typing}


def to_desk(conversation_id: str, typing: bool) -> dict[str, Any]:
    """What the holding agent's desks get: the resident's state in one chat."""
    return {"conversation_id": conversation_id, "typing": typing}
