"""Agents (professionals, administrators and managers): accounts, passwords and presence.

Passwords are hashed with Argon2 (argon2-cffi). Every change is written to
the audit log. The agent desk (a later issue) builds its login and presence
switches on these functions.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import Conflict, Forbidden, NotFound
from handoff.models import Agent, AgentSession, Presence, TeamMembership
from opastin import messages

ROLES = ("agent", "admin", "manager", "editor")
# Roles that belong to no team, and never see a queue or a conversation: a manager sees the
# statistics, a content editor the learning queue.
TEAMLESS_ROLES = ("manager", "editor")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


class TeamsNotAllowed(ValueError):
    """Teams given to a role that belongs to no team (:data:`TEAMLESS_ROLES`)."""


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
    must_change_password: bool = False,
    known_teams: Collection[str] | None = None,
) -> Agent:
    """Create an active account; :class:`Conflict` if the username is taken.

    Raises ``ValueError`` for a malformed username, a short password, an
    unknown role or a team id not in ``known_teams`` (the catalogue's ids;
    ``None`` when the caller has checked them); :class:`TeamsNotAllowed` for
    teams given to a manager.
    """
    if not USERNAME_PATTERN.match(username):
        raise ValueError("username: 2–64 characters of a–z, 0–9, '.', '_', '-', starting with a–z or 0–9")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    teams = _checked_teams(team_ids, known_teams, role)
    agent = Agent(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        active=True,
        must_change_password=must_change_password,
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
    verified = verify_credentials(session, username, password)
    if verified is None:
        return None
    agent_id, new_hash = verified
    agent: Agent = session.get(Agent, agent_id)  # verified just now, in this session
    if new_hash is not None:
        agent.password_hash = new_hash
    return agent


def verify_credentials(session: Session, username: str, password: str) -> tuple[int, str | None] | None:
    """``(agent id, a new hash if the old one is outdated)`` for valid credentials of an active
    account, else ``None``. Reads only, so the slow hash never holds a write transaction.
    """
    agent = session.execute(select(Agent).where(Agent.username == username)).scalar_one_or_none()
    if agent is None or not agent.active:
        _hasher.hash(password)  # spend the same time as for a real account
        return None
    try:
        _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(agent.password_hash) else None
    return agent.id, new_hash


def change_password(
    session: Session, agent: Agent, current: str, new: str, now: datetime, keep_session: str | None = None
) -> None:
    """The agent's own change: the current password is required; desk sessions other than
    ``keep_session`` (a token hash: the one making the change) end.

    Raises ``ValueError`` (in Finnish, shown on the desk) for a wrong current or a weak new password.
    """
    try:
        _hasher.verify(agent.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValueError(messages.text("desk.password.wrong_current")) from None
    _check_new_password(new, current)
    agent.password_hash = _hasher.hash(new)
    agent.must_change_password = False
    others = delete(AgentSession).where(
        AgentSession.agent_id == agent.id, AgentSession.token_hash != (keep_session or "")
    )
    session.execute(others)
    audit.record(session, agent.username, "agent.password_change", agent.username, now)


def reset_password(session: Session, username: str, new: str, now: datetime, actor: str) -> Agent:
    """An administrator sets a new password that must be changed at the next login; all sessions end."""
    agent = get_agent(session, username)
    _check_new_password(new, None)
    agent.password_hash = _hasher.hash(new)
    agent.must_change_password = True
    end_all_sessions(session, agent)
    audit.record(session, actor, "agent.password_reset", username, now)
    return agent


def set_active(session: Session, username: str, active: bool, now: datetime, actor: str) -> Agent:
    """Deactivate (sessions end, presence cleared) or reactivate an account."""
    agent = get_agent(session, username)
    if agent.active == active:
        return agent
    agent.active = active
    if not active:
        end_all_sessions(session, agent)
        clear_presence(session, agent, now)
    audit.record(session, actor, "agent.activate" if active else "agent.deactivate", username, now)
    return agent


def _checked_teams(team_ids: Iterable[str], known_teams: Collection[str] | None, role: str) -> list[str]:
    """The distinct ``team_ids``, sorted; ``ValueError`` naming those not in ``known_teams``, and
    :class:`TeamsNotAllowed` if ``role`` belongs to no team."""
    teams = sorted(set(team_ids))
    if teams and role in TEAMLESS_ROLES:
        raise TeamsNotAllowed(f"role {role}: no teams (the role belongs to none)")
    unknown = [team_id for team_id in teams if known_teams is not None and team_id not in known_teams]
    if unknown:
        raise ValueError(f"unknown team ids: {', '.join(unknown)}")
    return teams


def set_teams(
    session: Session,
    username: str,
    team_ids: Iterable[str],
    now: datetime,
    actor: str,
    known_teams: Collection[str] | None = None,
) -> Agent:
    """Replace the agent's teams (checked against ``known_teams``); presence in a team left ends.

    :class:`TeamsNotAllowed` if the account's role belongs to no team.
    """
    agent = get_agent(session, username)
    teams = _checked_teams(team_ids, known_teams, agent.role)
    before = sorted(membership.team_id for membership in agent.memberships)
    for team_id in set(before) - set(teams):
        clear_presence(session, agent, now, team_id)
    agent.memberships = [TeamMembership(team_id=team_id) for team_id in teams]
    session.flush()
    audit.record(session, actor, "agent.teams", username, now, before=before, after=teams)
    return agent


def end_all_sessions(session: Session, agent: Agent) -> int:
    """End every desk session of ``agent``; their sockets are dropped at the next check."""
    ended: int = session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id)).rowcount
    return ended


def _check_new_password(new: str, current: str | None) -> None:
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ValueError(messages.text("desk.password.too_short", length=MIN_PASSWORD_LENGTH))
    if len(new) > MAX_PASSWORD_LENGTH:
        raise ValueError(messages.text("desk.password.too_long", length=MAX_PASSWORD_LENGTH))
    if current is not None and new == current:
        raise ValueError(messages.text("desk.password.unchanged"))


def admin_exists(session: Session) -> bool:
    """True if any administrator account exists."""
    return session.execute(select(Agent.id).where(Agent.role == "admin").limit(1)).first() is not None


def get_agent(session: Session, username: str) -> Agent:
    """The agent called ``username``; :class:`NotFound` otherwise."""
    agent: Agent | None = session.execute(
        select(Agent).where(Agent.username == username)
    ).scalar_one_or_none()
    if agent is None:
        raise NotFound(f"no agent {username!r}")
    return agent


def set_presence(session: Session, agent: Agent, team_id: str, now: datetime) -> Presence:
    """Mark ``agent`` present in a team of theirs; idempotent (keeps the first ``since``)."""
    if not agent.active:
        raise Forbidden(f"agent {agent.username!r} is not active")
    if team_id not in {membership.team_id for membership in agent.memberships}:
        raise Forbidden(f"agent {agent.username!r} is not a member of team {team_id!r}")
    presence: Presence | None = session.get(Presence, (agent.id, team_id))
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
    removed: int = session.execute(statement).rowcount
    if removed:
        audit.record(session, agent.username, "presence.off", team_id, now)
    return removed
