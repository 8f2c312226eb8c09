"""Agents' desk sockets on every replica, in the shared database (sync: run by the gateway's writer).

Each replica of the handoff service writes a row per open desk socket
(:class:`handoff.models.DeskSocket`), refreshes its rows every heartbeat and
deletes them when it stops. A row not refreshed for :data:`STALE_AFTER`
belongs to a replica that vanished (killed, frozen) and counts as gone; the
next heartbeat of any replica deletes it, so the table holds only what is
connected now.

When an agent's last live socket anywhere closes, its row stays, closed, as
the mark of the grace period its replica runs. When that period ends, the
agent's chats are requeued only if no live row of theirs is left: neither an
open socket on any replica nor the mark of a later grace period elsewhere
(the agent came back there and left again; that replica decides). The
decisions about one agent lock the agent's row (PostgreSQL; SQLite has one
writer), so two replicas ending a grace period at once requeue once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from handoff.models import Agent, Conversation, DeskSocket
from handoff.queue import ACTIVE

# A replica refreshes its rows every 10 s (handoff.gateway.presence): three missed heartbeats.
STALE_AFTER = timedelta(seconds=30)


def _live(now: datetime) -> Any:
    """Rows refreshed recently enough to count."""
    return DeskSocket.last_seen >= now - STALE_AFTER


def _lock_agent(session: Session, agent_id: int) -> None:
    """Serialise the presence decisions about one agent across replicas (a no-op on SQLite)."""
    session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update(key_share=True))


def _drop_marks(session: Session, replica_id: str, agent_id: int) -> None:
    """Delete the replica's grace marks of the agent (its closed rows)."""
    session.execute(
        delete(DeskSocket).where(
            DeskSocket.replica_id == replica_id,
            DeskSocket.agent_id == agent_id,
            DeskSocket.closed_at.is_not(None),
        )
    )


def _row(replica_id: str, socket_id: str, agent_id: int, now: datetime) -> DeskSocket:
    return DeskSocket(
        replica_id=replica_id, socket_id=socket_id, agent_id=agent_id, connected_at=now, last_seen=now
    )


def opened(session: Session, replica_id: str, socket_id: str, agent_id: int, now: datetime) -> None:
    """A desk socket connected: its row (unless a heartbeat wrote it first); the replica's grace
    period for the agent, if any, is over."""
    _drop_marks(session, replica_id, agent_id)
    if session.get(DeskSocket, (replica_id, socket_id)) is None:
        session.add(_row(replica_id, socket_id, agent_id, now))


def closed(session: Session, replica_id: str, socket_id: str, agent_id: int, now: datetime) -> bool:
    """A desk socket closed. ``True`` when the agent has no live socket left on any replica: the
    row stays, closed, as the mark of the grace period the replica now runs; else it goes."""
    _lock_agent(session, agent_id)
    row = session.get(DeskSocket, (replica_id, socket_id))
    others = exists().where(
        DeskSocket.agent_id == agent_id,
        DeskSocket.closed_at.is_(None),
        or_(DeskSocket.replica_id != replica_id, DeskSocket.socket_id != socket_id),
        _live(now),
    )
    if session.execute(select(others)).scalar():
        if row is not None:
            session.delete(row)
        return False
    if row is None:
        row = _row(replica_id, socket_id, agent_id, now)
        session.add(row)
    row.closed_at = row.last_seen = now
    return True


def still_away(session: Session, replica_id: str, agent_id: int, now: datetime) -> bool:
    """The replica's grace period for the agent ended: drop its mark; ``True`` when the agent has
    no live row anywhere (no open socket, no later grace period on another replica)."""
    _lock_agent(session, agent_id)
    _drop_marks(session, replica_id, agent_id)
    held = exists().where(DeskSocket.agent_id == agent_id, _live(now))
    return not session.execute(select(held)).scalar()


def heartbeat(
    session: Session, replica_id: str, open_sockets: dict[str, int], now: datetime, starting: bool = False
) -> list[int]:
    """Refresh the replica's rows and write those missing (``open_sockets``: socket id -> agent id),
    delete stale rows. Returns the agents whose grace period should start: those with a live chat
    and no live row on any replica, among the agents whose rows were just found stale (their
    replica vanished) or, when the replica is ``starting``, among every agent (a restart). An agent
    who never opened a desk socket (the desk without scripts) is not swept otherwise."""
    session.execute(update(DeskSocket).where(DeskSocket.replica_id == replica_id).values(last_seen=now))
    _restore(session, replica_id, open_sockets, now)
    stale = DeskSocket.last_seen < now - STALE_AFTER
    vanished = set(session.execute(select(DeskSocket.agent_id).where(stale)).scalars())
    session.execute(delete(DeskSocket).where(stale))
    if not starting and not vanished:
        return []
    statement = select(Conversation.agent_id).where(
        Conversation.status == ACTIVE,
        Conversation.agent_id.is_not(None),
        Conversation.agent_id.not_in(select(DeskSocket.agent_id)),
    )
    if not starting:
        statement = statement.where(Conversation.agent_id.in_(vanished))
    return sorted(set(session.execute(statement).scalars()))


def _restore(session: Session, replica_id: str, open_sockets: dict[str, int], now: datetime) -> None:
    """Write the rows of the replica's open sockets that are missing (a failed write, or rows
    deleted as stale while the replica was frozen), for agents that still exist."""
    stored = set(
        session.execute(select(DeskSocket.socket_id).where(DeskSocket.replica_id == replica_id)).scalars()
    )
    missing = {socket_id: agent_id for socket_id, agent_id in open_sockets.items() if socket_id not in stored}
    if not missing:
        return
    existing = set(session.execute(select(Agent.id).where(Agent.id.in_(set(missing.values())))).scalars())
    session.add_all(
        _row(replica_id, socket_id, agent_id, now)
        for socket_id, agent_id in missing.items()
        if agent_id in existing
    )


def forget_replica(session: Session, replica_id: str) -> None:
    """The replica stops: its rows go."""
    session.execute(delete(DeskSocket).where(DeskSocket.replica_id == replica_id))
