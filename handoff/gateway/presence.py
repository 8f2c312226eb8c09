"""Agents' presence on the desk, and the grace period when their last desk socket closes.

Every replica of the service keeps the desk sockets it holds in the shared
database (:mod:`.desk_sockets`), so presence is decided over all replicas.
When an agent's last desk socket on any replica closes, the replica where it
closed starts a grace period of ``HANDOFF_AGENT_GRACE_S``; an agent whose desk
comes back on no replica within it loses their live chats to the head of
their queues. A replica also starts the grace period for agents with a live
chat and no live desk socket anywhere at its start (a restart), and at a
heartbeat for those whose desk was on a replica that vanished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from handoff.gateway import desk_sockets, relay
from opastin.teams import Teams

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway

logger = logging.getLogger(__name__)

# How often a replica refreshes its rows (desk_sockets.STALE_AFTER is three of these).
HEARTBEAT_S = 10.0


def requeue_if_away(
    session: Session, replica_id: str, teams: Teams, agent_id: int, now: datetime
) -> relay.Outcome:
    """The replica's grace period for the agent ended: their chats go back to the queue if they
    are still away from every replica; else nothing changes."""
    if not desk_sockets.still_away(session, replica_id, agent_id, now):
        return relay.Outcome(None)
    return relay.requeue_agent(session, teams, agent_id, now)


class AgentPresence:
    """This replica's desk sockets, their rows' heartbeat, and the grace timers it runs."""

    def __init__(self, hub: Gateway) -> None:
        self.hub = hub
        self.replica_id = secrets.token_hex(8)  # this process, in the shared table
        self.heartbeat_s = HEARTBEAT_S
        self._sockets: dict[str, int] = {}  # socket id -> agent id, open here
        self._grace: dict[int, asyncio.TimerHandle] = {}
        self._heartbeats: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        """Beat once (a grace period for every agent with a live chat and no desk anywhere), then
        every :attr:`heartbeat_s`."""
        self._stopped = False
        await self._beat(starting=True)
        self._heartbeats = asyncio.get_running_loop().create_task(self._beat_forever())

    async def stop(self) -> None:
        """Stop the heartbeat and every grace timer; delete this replica's rows."""
        self._stopped = True
        if self._heartbeats is not None:
            self._heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeats
        for handle in self._grace.values():
            handle.cancel()
        self._grace.clear()
        try:
            await self.hub.write(desk_sockets.forget_replica, self.replica_id)
        except Exception:  # the rows go stale and another replica's heartbeat deletes them
            logger.warning("could not delete this replica's desk sockets", exc_info=True)

    def connected(self, agent_id: int, socket_id: str) -> None:
        """A desk socket of the agent connected: cancel a grace period running here."""
        self._sockets[socket_id] = agent_id
        handle = self._grace.pop(agent_id, None)
        if handle is not None:
            handle.cancel()
        if not self._stopped:
            now = self.hub.services.now()
            self.hub.spawn(self._store(desk_sockets.opened, self.replica_id, socket_id, agent_id, now))

    def disconnected(self, agent_id: int, socket_id: str) -> None:
        """A desk socket closed; when the agent has none left on any replica, the grace period starts."""
        self._sockets.pop(socket_id, None)
        if not self._stopped:
            self.hub.spawn(self._closed(agent_id, socket_id))

    def _holds(self, agent_id: int) -> bool:
        return agent_id in self._sockets.values()

    async def _store(self, operation: Any, *args: Any) -> Any:
        try:
            return await self.hub.write(operation, *args)
        except Exception:  # the next heartbeat writes the rows of the open sockets again
            logger.exception("could not store a desk socket's state")
            return None

    async def _closed(self, agent_id: int, socket_id: str) -> None:
        now = self.hub.services.now()
        if await self._store(desk_sockets.closed, self.replica_id, socket_id, agent_id, now):
            self._start_grace(agent_id)

    async def _beat(self, starting: bool = False) -> None:
        """Refresh this replica's rows; start the grace period of agents left without a desk by a
        vanished replica (at start: of every agent with a live chat and no desk anywhere)."""
        now = self.hub.services.now()
        sockets = dict(self._sockets)
        away = await self.hub.write(desk_sockets.heartbeat, self.replica_id, sockets, now, starting)
        for agent_id in away:
            self._start_grace(agent_id)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._beat()
            except Exception:  # the database is away: try again at the next beat
                logger.exception("the desk sockets' heartbeat failed")

    def _start_grace(self, agent_id: int) -> None:
        if self._stopped or agent_id in self._grace or self._holds(agent_id):
            return
        grace_s = self.hub.services.settings.agent_grace_s
        self._grace[agent_id] = asyncio.get_running_loop().call_later(grace_s, self._grace_ended, agent_id)

    def _grace_ended(self, agent_id: int) -> None:
        self._grace.pop(agent_id, None)
        self.hub.spawn(self._requeue(agent_id))

    async def _requeue(self, agent_id: int) -> None:
        if self._holds(agent_id):
            return
        services = self.hub.services
        outcome = await self.hub.write(
            requeue_if_away, self.replica_id, services.teams, agent_id, services.now()
        )
        if outcome.posted:
            logger.info("agent %s stayed away: %d chats back to the queue", agent_id, len(outcome.posted))
        await self.hub.apply(outcome)
