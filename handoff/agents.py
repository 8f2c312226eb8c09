"""Agents (professionals and administrators): accounts, passwords and presence.

Passwords are hashed with Argon2 (argon2-cffi). Every change is written to
the audit log. The agent desk (a later issue) builds its login and presence
switches on these functions.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import Conflict, Forbidden, NotFound
from handoff.models import Agent, Presence, TeamMembership
from handoff.teams import TEAM_IDS

ROLES = ("agent", "admin")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


def generate_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def create_agent(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    *,
    display_name: str | None = None,
    role: str = "agent",
    team_ids: Iterable[str] = (),
    actor: str = "cli",
) -> Agent:
    """Create an active account; :class:`Conflict` if the username is taken.

    Raises ``ValueError`` for a malformed username, a short password, an
    unknown role or an unknown team id.
    """
    if not USERNAME_PATTERN.match(username):
        raise ValueError("username: 2–64 characters of a–z, 0–9, '.', '_', '-', starting with a–z or 0–9")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    teams = sorted(set(team_ids))
    unknown = [team_id for team_id in teams if team_id not in TEAM_IDS]
    if unknown:
        raise ValueError(f"unknown team ids: {', '.join(unknown)}")
    agent = Agent(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        active=True,
        created_at=now,
        memberships=[TeamMembership(team_id=team_id) for team_id in teams],
    )
    session.add(agent)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"username {username!r} is taken") from None
    audit.record(session, actor, "agent.create", username, now, role=role, teams=teams)
    return agent


def authenticate(session: Session, username: str, password: str) -> Agent | None:
    """The active agent with these credentials, or ``None``; rehashes outdated hashes."""
    agent = session.execute(select(Agent).where(Agent.username == username)).scalar_one_or_none()
    if agent is None or not agent.active:
        _hasher.hash(password)  # spend the same time as for a real account
        return None
    try:
        _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def admin_exists(session: Session) -> bool:
    """True if any administrator account exists."""
    return session.execute(select(Agent.id).where(Agent.role == "admin").limit(1)).first() is not None


def get_agent(session: Session, username: str) -> Agent:
    """The agent called ``username``; :class:`NotFound` otherwise."""
    agent = session.execute(select(Agent).where(Agent.username == username)).scalar_one_or_none()
    if agent is None:
        raise NotFound(f"no agent {username!r}")
    return agent


def set_presence(session: Session, agent: Agent, team_id: str, now: datetime) -> Presence:
    """Mark ``agent`` present in a team of theirs; idempotent (keeps the first ``since``)."""
    if not agent.active:
        raise Forbidden(f"agent {agent.username!r} is not active")
    if team_id not in {membership.team_id for membership in agent.memberships}:
        raise Forbidden(f"agent {agent.username!r} is not a member of team {team_id!r}")
    presence = session.get(Presence, (agent.id, team_id))
    if presence is None:
        presence = Presence(agent_id=agent.id, team_id=team_id, since=now)
        session.add(presence)
        audit.record(session, agent.username, "presence.on", team_id, now)
    return presence


def clear_presence(session: Session, agent: Agent, now: datetime, team_id: str | None = None) -> int:
    """Mark ``agent`` away from one team, or from all when ``team_id`` is ``None``; returns rows removed."""
    statement = delete(Presence).where(Presence.agent_id == agent.id)
    if team_id is not None:
        statement = statement.where(Presence.team_id == team_id)
    removed = session.execute(statement).rowcount
    if removed:
        audit.record(session, agent.username, "presence.off", team_id, now)
    return removed
