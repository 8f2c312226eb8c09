"""Agents' presence on the desk, and the grace period when their last desk socket closes.

An agent whose desk does not come back within ``HANDOFF_AGENT_GRACE_S``
loses their live chats to the head of their queues. After a restart every
agent with a live chat gets the same grace period (with one replica; behind
Redis another replica may hold the desk, so it is left to disconnects).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from handoff import queue
from handoff.gateway import relay
from handoff.models import Conversation

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway

logger = logging.getLogger(__name__)


def agents_with_live_chats(session: Any) -> list[int]:
    """Ids of the agents who have a live chat now."""
    statement = select(Conversation.agent_id).where(
        Conversation.status == queue.ACTIVE, Conversation.agent_id.is_not(None)
    )
    return sorted(set(session.execute(statement).scalars()))


class AgentPresence:
    """Counts each agent's desk sockets and runs their grace timers."""

    def __init__(self, hub: Gateway) -> None:
        self.hub = hub
        self._sockets: Counter[int] = Counter()
        self._grace: dict[int, asyncio.TimerHandle] = {}

    async def start(self) -> None:
        """After a restart: a grace period for every agent with a live chat (single replica only)."""
        if self.hub.services.settings.redis_url:
            return
        for agent_id in await self.hub.read(agents_with_live_chats):
            self._start_grace(agent_id)

    def stop(self) -> None:
        """Cancel every grace timer."""
        for handle in self._grace.values():
            handle.cancel()

    def connected(self, agent_id: int) -> None:
        """A desk socket of the agent connected: cancel a running grace period."""
        self._sockets[agent_id] += 1
        handle = self._grace.pop(agent_id, None)
        if handle is not None:
            handle.cancel()

    def disconnected(self, agent_id: int) -> None:
        """A desk socket closed; when it was the agent's last, the grace period starts."""
        self._sockets[agent_id] -= 1
        if self._sockets[agent_id] <= 0:
            del self._sockets[agent_id]
            self._start_grace(agent_id)

    def _start_grace(self, agent_id: int) -> None:
        if agent_id in self._grace:
            return
        loop = asyncio.get_running_loop()
        self._grace[agent_id] = loop.call_later(
            self.hub.services.settings.agent_grace_s, lambda: self.hub.spawn(self._grace_over(agent_id))
        )

    async def _grace_over(self, agent_id: int) -> None:
        self._grace.pop(agent_id, None)
        if self._sockets.get(agent_id):
            return
        services = self.hub.services
        outcome = await self.hub.write(relay.requeue_agent, services.teams, agent_id, services.now())
        if outcome.posted:
            logger.info("agent %s stayed away: %d chats back to the queue", agent_id, len(outcome.posted))
        await self.hub.apply(outcome)
