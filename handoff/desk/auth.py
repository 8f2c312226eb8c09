"""Agent desk sessions, CSRF tokens and the login rate limit.

A desk session is a random token in an HttpOnly, SameSite=Strict cookie; the
database keeps only its SHA-256, the agent and the session's CSRF token, so
logging out (or an expired session) ends it on every replica. Forms carry
the CSRF token in a hidden field, scripts in the ``X-CSRF-Token`` header.
The login form, before any session exists, uses a double-submit cookie.
The login throttle counts in this process, or in Redis over every replica
when ``REDIS_URL`` is set (:func:`login_throttle`).
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
from functools import partial
from http.cookies import SimpleCookie
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from handoff.agents import ROLES
from handoff.gateway.limits import KEY_PREFIX, SharedStore, pseudonym, redis_client
from handoff.models import Agent, AgentSession, TeamMembership

SESSION_COOKIE = "opastin_desk"
LOGIN_CSRF_COOKIE = "opastin_desk_login"
SESSION_LIFETIME = timedelta(hours=12)
FAILURE_WINDOW_S = 15 * 60
# Failed attempts allowed in the window before each further attempt waits (1, 2, 4 … 30 s):
PAIR_FREE_ATTEMPTS = 5  # one username from one address: a person mistyping
ADDRESS_FREE_ATTEMPTS = 20  # one address over every username: password spraying
USERNAME_FREE_ATTEMPTS = 50  # one username from every address: a distributed guess
MAX_DELAY_S = 30.0
MAX_TRACKED_KEYS = 10_000
# Who may use which pages: queues, chats and contact requests; the statistics; the learning queue;
# the accounts.
CHAT_ROLES = frozenset({"agent", "admin"})
STATISTICS_ROLES = frozenset({"manager", "admin"})
EDITOR_ROLES = frozenset({"editor", "admin"})
ADMIN_ROLES = frozenset({"admin"})
ANY_ROLE = frozenset(ROLES)


@dataclass(frozen=True)
class DeskUser:
    """The logged-in agent as the desk needs it (no database objects)."""

    agent_id: int
    username: str
    display_name: str
    teams: tuple[str, ...]
    csrf_token: str
    session_hash: str = ""
    must_change_password: bool = False
    role: str = "agent"

    @property
    def sees_chats(self) -> bool:
        """Whether the role works with residents: queues, chats and contact requests."""
        return self.role in CHAT_ROLES

    @property
    def sees_statistics(self) -> bool:
        """Whether the role may see the statistics."""
        return self.role in STATISTICS_ROLES

    @property
    def sees_learning(self) -> bool:
        """Whether the role may review the learning queue."""
        return self.role in EDITOR_ROLES

    @property
    def home(self) -> str:
        """The desk page the role starts from."""
        if self.sees_chats:
            return "/desk"
        return "/desk/tilastot" if self.sees_statistics else "/desk/opetus"


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


# The session lookup of every desk request, built once: the session, its active account and the
# account's teams in one statement (one row per team), without ORM objects.
_SESSIONS, _AGENTS, _MEMBERSHIPS = AgentSession.__table__, Agent.__table__, TeamMembership.__table__
_LOAD_USER = (
    select(
        _AGENTS.c.id,
        _AGENTS.c.username,
        _AGENTS.c.display_name,
        _AGENTS.c.must_change_password,
        _AGENTS.c.role,
        _SESSIONS.c.csrf_token,
        _SESSIONS.c.token_hash,
        _MEMBERSHIPS.c.team_id,
    )
    .select_from(
        _SESSIONS.join(_AGENTS, _AGENTS.c.id == _SESSIONS.c.agent_id).outerjoin(
            _MEMBERSHIPS, _MEMBERSHIPS.c.agent_id == _AGENTS.c.id
        )
    )
    .where(
        _SESSIONS.c.token_hash == bindparam("token_hash"),
        _SESSIONS.c.expires_at > bindparam("now"),
        _AGENTS.c.active.is_(True),
    )
)


def load_user(session: Session, token: str | None, now: datetime) -> DeskUser | None:
    """The agent of a valid, unexpired session token of an active account, or ``None``."""
    if not token or len(token) > 128:
        return None
    rows = session.execute(_LOAD_USER, {"token_hash": token_hash(token), "now": now}).all()
    if not rows:
        return None
    first = rows[0]
    teams = tuple(sorted(row.team_id for row in rows if row.team_id is not None))
    return DeskUser(
        first.id,
        first.username,
        first.display_name,
        teams,
        first.csrf_token,
        first.token_hash,
        bool(first.must_change_password),
        first.role,
    )


def valid_sessions(session: Session, hashes: set[str], now: datetime) -> set[str]:
    """Which of these session token hashes still belong to an unexpired session of an active account."""
    if not hashes:
        return set()
    rows = session.execute(
        select(AgentSession.token_hash)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(AgentSession.token_hash.in_(hashes), AgentSession.expires_at > now, Agent.active.is_(True))
    )
    return set(rows.scalars())


def end_session(session: Session, token: str | None) -> None:
    """Delete the session of ``token`` (logout)."""
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token)))


def cookie_from_environ(environ: dict[str, Any], name: str = SESSION_COOKIE) -> str | None:
    """A cookie's value from a WSGI-style environ (the socket.io handshake)."""
    cookies = SimpleCookie()
    try:
        cookies.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel else None


class LoginThrottle(Protocol):
    """The login throttle as the login page uses it, however the attempts are kept."""

    async def before_check(self, username: str, address: str) -> float:
        """Count this attempt; the seconds it must wait before its password is checked."""

    async def after_success(self, username: str, address: str) -> None:
        """Forget the pair's attempts after a successful login (and take them off the others)."""


def failure_delay(pair: int, address: int, username: int) -> float:
    """The wait of an attempt after so many recent attempts of its pair, address and username."""
    excess = max(
        pair - PAIR_FREE_ATTEMPTS, address - ADDRESS_FREE_ATTEMPTS, username - USERNAME_FREE_ATTEMPTS
    )
    return 0.0 if excess < 0 else min(MAX_DELAY_S, 2.0**excess)


def counted_keys(username: str, address: str) -> tuple[str, str, str]:
    """What an attempt is counted under: the pair, the address and the username."""
    return f"pair:{username}:{address}", f"addr:{address}", f"user:{username}"


class LoginLimiter:
    """Slows down repeated failed logins instead of locking accounts (in memory, per process).

    Every attempt is counted before its password is checked, so parallel
    attempts cannot slip past the count. Attempts are counted per username
    and address together, per address and per username; once a count passes
    its free allowance, each further attempt waits 1, 2, 4 … up to 30
    seconds. Nobody can lock another person out: an attacker elsewhere only
    slows the pair and the address he uses, and slows a username only after
    50 failures within 15 minutes. A success forgets its pair's count.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def delay(self, username: str, address: str) -> float:
        """Seconds this attempt must wait before its password is checked."""
        return failure_delay(*(self._recent(key) for key in counted_keys(username, address)))

    def attempt(self, username: str, address: str) -> None:
        """Count one attempt (before the password is checked)."""
        now = self._clock()
        for key in counted_keys(username, address):
            self._failures[key].append(now)
        if len(self._failures) > MAX_TRACKED_KEYS:
            self._forget_oldest()

    def succeeded(self, username: str, address: str) -> None:
        """Forget the pair's attempts after a successful login (and take it off the others)."""
        pair_key, *others = counted_keys(username, address)
        pair = self._failures.pop(pair_key, deque())
        for key in others:
            for _ in range(min(len(pair), len(self._failures[key]))):
                self._failures[key].pop()

    async def before_check(self, username: str, address: str) -> float:
        """:meth:`delay`, then :meth:`attempt`, as :class:`LoginThrottle` asks."""
        delay = self.delay(username, address)
        self.attempt(username, address)
        return delay

    async def after_success(self, username: str, address: str) -> None:
        """:meth:`succeeded`, as :class:`LoginThrottle` asks."""
        self.succeeded(username, address)

    def _recent(self, key: str) -> int:
        failures = self._failures.get(key)
        if failures is None:
            return 0
        cutoff = self._clock() - FAILURE_WINDOW_S
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        return len(failures)

    def _forget_oldest(self) -> None:
        """Keep memory bounded: drop the half of the keys whose last attempt is oldest."""
        by_age = sorted(self._failures, key=lambda key: self._failures[key][-1] if self._failures[key] else 0)
        for key in by_age[: len(by_age) // 2]:
            del self._failures[key]


class SharedLoginLimiter:
    """The same throttle over every replica: each count a Redis sorted set of attempt times.

    An attempt is trimmed, counted and added in one transaction per login, so
    parallel attempts on different replicas cannot slip past the count; the
    sets expire with the window. Keys hold SHA-256 digests, never a username
    or an address. While Redis fails, each replica throttles on its own
    (:class:`~handoff.gateway.limits.SharedStore`): desk logins go on, slowed
    per replica as before shared limits.
    """

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock  # wall time: the sets are shared by replicas on other machines
        self._store = SharedStore("login throttle")
        self._local = LoginLimiter()

    async def before_check(self, username: str, address: str) -> float:
        """Count this attempt over every replica; the seconds it must wait before its password is checked."""
        shared = partial(self._count, username, address)
        return await self._store.run(shared, partial(self._local.before_check, username, address))

    async def after_success(self, username: str, address: str) -> None:
        """Forget the pair's attempts over every replica (and take them off the address and username)."""
        shared = partial(self._forget_pair, username, address)
        await self._store.run(shared, partial(self._local.after_success, username, address))

    def _keys(self, username: str, address: str) -> list[str]:
        return [f"{KEY_PREFIX}:login:{pseudonym(key)}" for key in counted_keys(username, address)]

    async def _count(self, username: str, address: str) -> float:
        now = self._clock()
        attempt = {f"{now}:{secrets.token_hex(8)}": now}
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, address):
                pipe.zremrangebyscore(key, "-inf", f"({now - FAILURE_WINDOW_S}")
                pipe.zcard(key)
                pipe.zadd(key, attempt)
                pipe.expire(key, FAILURE_WINDOW_S)
            results = await pipe.execute()
        pair, by_address, by_username = results[1::4]
        return failure_delay(pair, by_address, by_username)

    async def _forget_pair(self, username: str, address: str) -> None:
        pair, *others = self._keys(username, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(pair, "-inf", f"({self._clock() - FAILURE_WINDOW_S}")
            pipe.zcard(pair)
            pipe.delete(pair)  # in the same transaction: a pair's attempts are taken off once
            counted = (await pipe.execute())[1]
        if counted:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in others:
                    pipe.zpopmax(key, counted)  # the latest ones, as the in-memory limiter does
                await pipe.execute()


def login_throttle(redis_url: str | None) -> LoginThrottle:
    """The desk's login throttle: shared through Redis when ``REDIS_URL`` is set, else this process's."""
    if redis_url:
        return SharedLoginLimiter(redis_client(redis_url))
    return LoginLimiter()
