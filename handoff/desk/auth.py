"""Agent desk sessions, CSRF tokens and the login rate limit.

A desk session is a random token in an HttpOnly, SameSite=Strict cookie; the
database keeps only its SHA-256, the agent and the session's CSRF token, so
logging out (or an expired session) ends it on every replica. Forms carry
the CSRF token in a hidden field, scripts in the ``X-CSRF-Token`` header.
The login form, before any session exists, uses a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import SimpleCookie

from sqlalchemy import delete
from sqlalchemy.orm import Session

from handoff.models import Agent, AgentSession

SESSION_COOKIE = "opastin_desk"
LOGIN_CSRF_COOKIE = "opastin_desk_login"
SESSION_LIFETIME = timedelta(hours=12)
USERNAME_FAILURES = 5
ADDRESS_FAILURES = 20
FAILURE_WINDOW_S = 15 * 60


@dataclass(frozen=True)
class DeskUser:
    """The logged-in agent as the desk needs it (no database objects)."""

    agent_id: int
    username: str
    display_name: str
    teams: tuple[str, ...]
    csrf_token: str


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random token for a cookie or a form."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; ``False`` when either is missing."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def start_session(session: Session, agent: Agent, now: datetime) -> str:
    """Create a desk session for ``agent``; returns the cookie's token."""
    token = new_token()
    session.add(
        AgentSession(
            token_hash=token_hash(token),
            agent_id=agent.id,
            csrf_token=new_token(),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


def load_user(session: Session, token: str | None, now: datetime) -> DeskUser | None:
    """The agent of a valid, unexpired session token of an active account, or ``None``."""
    if not token or len(token) > 128:
        return None
    row = session.get(AgentSession, token_hash(token))
    if row is None or row.expires_at <= now:
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or not agent.active:
        return None
    teams = tuple(sorted(membership.team_id for membership in agent.memberships))
    return DeskUser(agent.id, agent.username, agent.display_name, teams, row.csrf_token)


def end_session(session: Session, token: str | None) -> None:
    """Delete the session of ``token`` (logout)."""
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token)))


def cookie_from_environ(environ: dict, name: str = SESSION_COOKIE) -> str | None:
    """A cookie's value from a WSGI-style environ (the socket.io handshake)."""
    cookies = SimpleCookie()
    try:
        cookies.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel else None


class LoginLimiter:
    """Failed logins per username (5) and per address (20) within 15 minutes; in memory, per process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> int:
        failures = self._failures[key]
        cutoff = self._clock() - FAILURE_WINDOW_S
        while failures and failures[0] < cutoff:
            failures.popleft()
        return len(failures)

    def blocked(self, username: str, address: str) -> bool:
        """True while either the username or the address has too many recent failures."""
        return (
            self._recent(f"user:{username}") >= USERNAME_FAILURES
            or self._recent(f"addr:{address}") >= ADDRESS_FAILURES
        )

    def failed(self, username: str, address: str) -> None:
        """Count one failed login."""
        now = self._clock()
        self._failures[f"user:{username}"].append(now)
        self._failures[f"addr:{address}"].append(now)

    def succeeded(self, username: str) -> None:
        """Forget the username's failures after a successful login."""
        self._failures.pop(f"user:{username}", None)
