"""Consultation rooms between professionals (issue 17, part 6b).

One room per team of the catalogue, for the team's members, and one room common to every team
(:data:`COMMON`), for every active professional who belongs to at least one team and for the
administrators. Managers and content editors belong to no team and enter none. A room's messages
are for professionals only: never shown to a resident, never sent to the bot. Identity codes are
masked before a message is stored; writing a message (``room.message``) and opening a room
(``room.view``) are audited, without the text. A team room's messages are purged after the team's
``retention_days``, the common room's after the shortest retention of the teams (:func:`purge`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import Forbidden, InvalidInput, NotFound
from handoff.models import Agent, Presence, RoomMessage
from opastin.privacy import mask_hetu
from opastin.teams import Teams

# The common room's id: never a team id (those are a-z, 0-9 and _ only).
COMMON = "yhteinen-huone"
MAX_MESSAGE_LENGTH = 2000
SHOWN_MESSAGES = 200
# Administrators work with residents too; they enter the common room even without a team.
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Room:
    """A room the professional may enter: a team's (with its name) or the common one."""

    id: str
    team_name: str | None = None

    @property
    def common(self) -> bool:
        """Whether this is the room of every team."""
        return self.id == COMMON


@dataclass(frozen=True)
class RoomLine:
    """One message of a room, as stored (identity codes masked)."""

    id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Present:
    """A professional present now where the room counts presence."""

    agent_id: int
    display_name: str


def in_common_room(role: str, team_ids: Collection[str]) -> bool:
    """Whether an account of ``role`` in ``team_ids`` belongs to the common room."""
    return bool(team_ids) or role == ADMIN_ROLE


def _teams_of(agent: Agent) -> set[str]:
    return {membership.team_id for membership in agent.memberships}


def may_enter(agent: Agent, room: str) -> bool:
    """Whether ``agent`` may read and write in ``room`` now."""
    if not agent.active:
        return False
    if room == COMMON:
        return in_common_room(agent.role, _teams_of(agent))
    return room in _teams_of(agent)


def rooms_for(agent: Agent, teams: Teams) -> list[Room]:
    """The rooms ``agent`` may enter: the common room first, then their teams' in catalogue order."""
    common = [Room(COMMON)] if may_enter(agent, COMMON) else []
    return common + [Room(team.id, team.name) for team in teams if may_enter(agent, team.id)]


def room_of(teams: Teams, agent: Agent, room: str) -> Room:
    """The room ``room`` for ``agent``: :class:`NotFound` if there is no such room,
    :class:`Forbidden` if it is not theirs to enter."""
    team = teams.get(room)
    if room != COMMON and team is None:
        raise NotFound("no such room")
    if not may_enter(agent, room):
        raise Forbidden("the room is for its professionals only")
    return Room(room, team.name if team is not None else None)


def view(session: Session, teams: Teams, agent: Agent, room: str, now: datetime) -> Room:
    """Open a room for reading (checked, audited as ``room.view``)."""
    found = room_of(teams, agent, room)
    audit.record(session, agent.username, "room.view", room, now)
    return found


def write(session: Session, teams: Teams, agent: Agent, room: str, text: str, now: datetime) -> RoomLine:
    """A message by ``agent`` in ``room`` (identity codes masked); audited without the text."""
    room_of(teams, agent, room)
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(f"a message is 1–{MAX_MESSAGE_LENGTH} characters")
    message = RoomMessage(
        room=room, agent_id=agent.id, author=agent.display_name, text=mask_hetu(text), created_at=now
    )
    session.add(message)
    session.flush()
    audit.record(session, agent.username, "room.message", room, now)
    return RoomLine(message.id, message.author, message.text, now)


def messages(session: Session, room: str, limit: int = SHOWN_MESSAGES) -> list[RoomLine]:
    """The room's latest ``limit`` messages, oldest first."""
    latest = select(RoomMessage).where(RoomMessage.room == room).order_by(RoomMessage.id.desc()).limit(limit)
    rows = reversed(list(session.execute(latest).scalars()))
    return [RoomLine(row.id, row.author, row.text, row.created_at) for row in rows]


def latest_at(session: Session, rooms: Collection[str]) -> dict[str, datetime]:
    """When the last message of each of ``rooms`` was written (rooms without messages left out)."""
    statement = (
        select(RoomMessage.room, func.max(RoomMessage.created_at))
        .where(RoomMessage.room.in_(list(rooms)))
        .group_by(RoomMessage.room)
    )
    return {room: at for room, at in session.execute(statement).all()}


def present(session: Session, room: str) -> list[Present]:
    """Who is present now: in the team, for a team's room; in any team, for the common room."""
    statement = (
        select(Agent.id, Agent.display_name)
        .join(Presence, Presence.agent_id == Agent.id)
        .where(Agent.active.is_(True))
        .distinct()
        .order_by(Agent.display_name, Agent.id)
    )
    if room != COMMON:
        statement = statement.where(Presence.team_id == room)
    return [Present(agent_id, name) for agent_id, name in session.execute(statement).all()]


def purge(session: Session, teams: Teams, now: datetime) -> int:
    """Delete messages past their room's retention: a team's room keeps its team's ``retention_days``;
    the common room (and the room of a team no longer in the catalogue) the shortest of the teams'.
    Returns how many were deleted."""
    removed = 0
    for team in teams:
        removed += _delete_before(
            session, RoomMessage.room == team.id, now - timedelta(days=team.retention_days)
        )
    shortest = min(team.retention_days for team in teams)
    others = RoomMessage.room.not_in(list(teams.ids))
    return removed + _delete_before(session, others, now - timedelta(days=shortest))


def _delete_before(session: Session, rooms: Any, cutoff: datetime) -> int:
    """Delete the messages of the rooms matching ``rooms`` (a SQL condition) written before ``cutoff``."""
    statement = delete(RoomMessage).where(rooms, RoomMessage.created_at < cutoff)
    deleted: int = session.execute(statement.execution_options(synchronize_session=False)).rowcount
    return deleted
