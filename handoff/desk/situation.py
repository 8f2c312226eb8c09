"""The situation now, per team (``/desk/tilanne``): who is present, how many chats each is handling,
the queue and its longest wait. For agents (their colleagues) and for managers and administrators
(every team). It shows no resident and no message: names of professionals and counts only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import queue
from handoff.desk.auth import DeskUser
from handoff.desk.views import minutes
from handoff.models import Agent, Conversation, Presence, QueueEntry
from opastin.teams import Teams


@dataclass(frozen=True)
class Colleague:
    """A professional present in a team, with the live chats they hold in it."""

    name: str
    chats: int
    is_me: bool


@dataclass(frozen=True)
class TeamNow:
    """One team at this moment."""

    id: str
    name: str
    open: bool
    waiting: int
    longest_wait: str
    present: tuple[Colleague, ...]
    live_chats: int


def situation(session: Session, teams: Teams, user: DeskUser, now: datetime) -> list[TeamNow]:
    """Every team the user may see (an agent: their own; a manager or administrator: all), now."""
    shown = [team for team in teams if not user.sees_chats or user.role == "admin" or team.id in user.teams]
    ids = [team.id for team in shown]
    states = queue.team_states(session, shown, now)
    longest = dict(
        session.execute(
            select(QueueEntry.team_id, func.min(QueueEntry.enqueued_at))
            .where(QueueEntry.left_at.is_(None), QueueEntry.team_id.in_(ids))
            .group_by(QueueEntry.team_id)
        ).all()
    )
    chats: dict[tuple[str, int], int] = {
        (team_id, agent_id): count
        for team_id, agent_id, count in session.execute(
            select(Conversation.team_id, Conversation.agent_id, func.count())
            .where(Conversation.status == queue.ACTIVE, Conversation.team_id.in_(ids))
            .group_by(Conversation.team_id, Conversation.agent_id)
        ).all()
    }
    present: dict[str, list[Colleague]] = defaultdict(list)
    for team_id, agent_id, name in session.execute(
        select(Presence.team_id, Agent.id, Agent.display_name)
        .join(Agent, Agent.id == Presence.agent_id)
        .where(Presence.team_id.in_(ids))
        .order_by(Agent.display_name)
    ).all():
        present[team_id].append(Colleague(name, chats.get((team_id, agent_id), 0), agent_id == user.agent_id))
    return [
        TeamNow(
            team.id,
            team.name,
            states[team.id].opening.open,
            states[team.id].queue_length,
            minutes((now - longest[team.id]).total_seconds()) if team.id in longest else "",
            tuple(present[team.id]),
            sum(count for (team_id, _), count in chats.items() if team_id == team.id),
        )
        for team in shown
    ]
