"""Queue-position updates: each waiting resident sees their place and wait, pushed when it changes.

A change to a team's queue marks the team dirty; one task per team pushes
positions until nothing is dirty (changes that arrive meanwhile coalesce),
and each resident is sent only what differs from what they last got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handoff import queue
from handoff.gateway.wire import RESIDENTS, queue_message, resident_room
from handoff.models import Conversation
from handoff.queue import WAITING
from handoff.runtime import Services

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway


@dataclass(frozen=True)
class Position:
    """A waiting resident's place in their team's queue."""

    position: int
    queue_length: int
    wait: int | None


def position_of(session: Any, services: Services, conversation_id: str) -> Position | None:
    """The conversation's place in its queue, or ``None`` when it is not waiting."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != WAITING:
        return None
    status = queue.queue_status(session, services.teams, conversation_id, services.now())
    if status.position is None:
        return None
    return Position(status.position, status.queue_length, status.estimated_wait_s)


class QueuePositions:
    """Pushes queue positions to waiting residents, coalesced per team."""

    def __init__(self, hub: Gateway) -> None:
        self.hub = hub
        self._sent: dict[str, tuple[str, int, int | None]] = {}
        self._dirty: set[str] = set()
        self._running: set[str] = set()

    def changed(self, team_id: str) -> None:
        """Someone joined or left ``team_id``'s queue: push positions (coalesced per team)."""
        self._dirty.add(team_id)
        if team_id not in self._running:
            self._running.add(team_id)
            self.hub.spawn(self._push(team_id))

    async def _push(self, team_id: str) -> None:
        try:
            while team_id in self._dirty:
                self._dirty.discard(team_id)
                await self._push_once(team_id)
        finally:
            self._running.discard(team_id)

    async def _push_once(self, team_id: str) -> None:
        services = self.hub.services
        team = services.teams.get(team_id)
        if team is None:
            return
        waiting = await self.hub.read(queue.waiting_list, team, services.now())
        current = {resident.conversation_id for resident in waiting}
        for conversation_id, (sent_team, _, _) in list(self._sent.items()):
            if sent_team == team_id and conversation_id not in current:
                del self._sent[conversation_id]
        for resident in waiting:
            key = (team_id, resident.position, resident.estimated_wait_s)
            if self._sent.get(resident.conversation_id) == key:
                continue
            self._sent[resident.conversation_id] = key
            message = queue_message(resident.position, len(waiting), resident.estimated_wait_s)
            await self.hub.sio.emit(
                "bot_uttered", message, room=resident_room(resident.conversation_id), namespace=RESIDENTS
            )
        await self.hub.desk_changed(team_id)
