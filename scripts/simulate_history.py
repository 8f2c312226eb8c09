"""Simulate a year of Opastin traffic through the handoff service's own functions, for the statistics.

Residents open the page, write to the bot and get its replies with route
payloads (stored as the gateway stores them), join teams' queues while the
team is open, wait, chat with an agent, are transferred, leave the queue,
leave contact requests and feedback, end their conversations or leave them
idle; the maintenance task closes the queues at closing time, counts the idle
conversations and runs the daily retention purge. Every step calls the
function the service calls in production, with the simulation's clock as
``now``, so the daily counts come from the counting code, never from here.

The shares are modelled on the Essote pilot (about 15 % of conversations
handed to a professional); hours come from the team catalogue. Every text is
made up and says it is simulated. The simulation keeps what it did (the
known truth: conversations, handed off, waits, chats, ratings, emergencies,
contact requests, ...), prints it and can write it as JSON; the statistics
report of the period must say the same.

Usage: .venv/bin/python scripts/simulate_history.py [--conversations 100000] [--seed 1]
       [--database sqlite:///var/simulated-history.db] [--start 2026-01-01] [--days 365] [--truth FILE]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from handoff import agents, maintenance, retention  # noqa: E402
from handoff.contact import create_contact_request  # noqa: E402
from handoff.counting import EMERGENCY_LEVELS, GREETING, UNDERSTANDING_MARKS, local_day  # noqa: E402
from handoff.db import Database, migrate  # noqa: E402
from handoff.errors import NobodyPresent, QueueFull, TeamClosed  # noqa: E402
from handoff.feedback import store_feedback  # noqa: E402
from handoff.gateway import relay, sessions  # noqa: E402
from handoff.gateway.consent import NO_PAYLOAD, YES_PAYLOAD  # noqa: E402
from handoff.gateway.wire import emergency_message  # noqa: E402
from handoff.models import Agent, DailyCount, ResidentSession  # noqa: E402
from handoff.queue import enqueue  # noqa: E402
from opastin.hours import HELSINKI, holiday_name, is_open  # noqa: E402
from opastin.places import DEFAULT_TEAMS_FILE  # noqa: E402
from opastin.routes import RouteTable, load_routes  # noqa: E402
from opastin.teams import Team, Teams, load_teams  # noqa: E402

DEFAULT_DATABASE = f"sqlite:///{PROJECT_ROOT / 'var' / 'simulated-history.db'}"
RESUME = timedelta(minutes=30)  # HANDOFF_RESUME_MINUTES
# The service runs its maintenance every minute and purges daily. Here the maintenance runs every five
# minutes while someone waits in a queue (a wait is cut at the first run after the closing time), else
# every half hour, and the purge weekly: that only delays counting an idle conversation (not its day
# or figures) and deleting expired rows (all counted long before). Each run ends a batch of events.
MAINTENANCE_EVERY = timedelta(minutes=5)
MAINTENANCE_IDLE_EVERY = timedelta(minutes=30)
PURGE_EVERY = timedelta(days=7)
AGENTS_PER_TEAM = 2

# The shares below are plausible assumptions, tuned so that about 15 % of the conversations are handed
# to a professional as in the Essote pilot; change them here.
# Visits by what the resident came for (shares of the conversations); a page merely opened comes on top.
KINDS = {
    "team": 0.50,
    "omaolo": 0.24,
    "webpage": 0.14,
    "person": 0.04,
    "form": 0.03,
    "emergency": 0.015,
    "unclear": 0.035,
}
PAGE_ONLY_SHARE = 0.06
# Which team a topic belongs to (teams missing here weigh 0.05).
TEAM_WEIGHTS = {
    "terveysneuvo": 0.28,
    "palveluneuvo": 0.12,
    "tyoikaisten_sosiaalityo": 0.12,
    "mielenterveys_paihde": 0.10,
    "suun_terveydenhuolto": 0.08,
    "neuvola": 0.08,
    "perhekeskus": 0.07,
    "fysioterapia": 0.06,
    "vammaispalvelut": 0.05,
    "katilot": 0.04,
}
EMERGENCY_WEIGHTS = {"112": 0.25, "116117": 0.35, "crisis": 0.15, "social": 0.10, "confirm": 0.15}
# Ratings 1-5: after a chat with a professional, and after the bot alone.
CHAT_RATINGS = (0.03, 0.03, 0.07, 0.25, 0.62)
BOT_RATINGS = (0.04, 0.05, 0.10, 0.31, 0.50)
# Traffic by Helsinki hour, weekday (Monday first; holidays as Sunday) and month.
HOURS = (
    0.3,
    0.2,
    0.15,
    0.1,
    0.1,
    0.2,
    0.5,
    1.5,
    4.0,
    4.8,
    5.0,
    4.8,
    4.6,
    4.6,
    4.2,
    3.2,
    2.6,
    2.2,
    2.2,
    2.1,
    1.9,
    1.5,
    1.0,
    0.6,
)
WEEKDAYS = (1.2, 1.1, 1.05, 1.0, 0.9, 0.5, 0.45)
MONTHS = {6: 0.85, 7: 0.65, 8: 0.9, 12: 0.85}

P_CLARIFY = 0.08  # the bot asks which topic was meant before routing
P_JOIN = 0.62  # a resident routed to a team that takes residents joins its queue
P_CONTACT_CLOSED = 0.20  # ... leaves a contact request when the team cannot take them
P_CONTACT_OPEN = 0.04  # ... or when it could, but they do not want to chat
P_CONTACT_CUT = 0.35  # after the team closed while they waited
P_CONTACT_RETRY = 0.02  # the action server sends the same request again after a timeout
P_FEEDBACK_CHAT = 0.55
P_FEEDBACK_BOT = 0.04
P_COMMENT = 0.2
P_END_CHAT = 0.45  # presses "Lopeta keskustelu" after a chat
P_END_BOT = 0.25  # ... after the bot alone
P_RELOAD = 0.03  # reloads the page, which resumes the conversation
P_USED_AGAIN = 0.01  # comes back to the page left open an hour later
P_TRANSFER = 0.04  # the agent proposes another team
P_CONSENT = 0.9
P_LEAVES_CHAT = 0.02  # the resident ends the conversation during a live chat
P_EMERGENCY_IN_CHAT = 0.004
P_PERSON_JOINS = 0.85

# Lognormal (median s, sigma): an agent's response to a waiting resident, a resident's patience,
# a chat, and a transferred resident's wait at the head of the new queue.
PICKUP = (200.0, 1.0)
PATIENCE = (1500.0, 0.8)
CHAT = (420.0, 0.7)
TRANSFER_PICKUP = (60.0, 0.8)
PING_S = (480, 900)  # a waiting resident writes again every 8-15 minutes

# Conversation statuses as the simulation sees them; queued and live ones are not over.
BOT, WAITING, LIVE, CANCELLED, CLOSED = "bot", "queued", "active", "cancelled", "closed"
OPEN = (WAITING, LIVE)
WAIT_OUTCOMES = ("accepted", "cancelled", "closed")
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(eq=False)
class Segment:
    """A resident's activity since their conversation was last counted: what the counting will see."""

    wrote: bool = False
    handed_off: bool = False
    last_team: str = ""
    routes: dict[tuple[str, str], None] = field(default_factory=dict)
    marks: set[str] = field(default_factory=set)


@dataclass(eq=False)
class Visit:
    """One resident page: the conversation, where it stands, and its uncounted activity."""

    number: int
    kind: str
    conversation_id: str = ""
    secret: str = ""
    status: str = BOT
    ended: bool = False
    last_seen: datetime = NEVER
    counted_at: datetime | None = None
    segment: Segment = field(default_factory=Segment)
    handoff_team: str = ""  # the team of the conversation's handoff (after a transfer, the new one)
    enqueued_at: datetime | None = None
    accepted_at: datetime | None = None
    agent_id: int = 0
    transcript: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Truth:
    """What the simulation did, as the statistics should count it."""

    first: date
    last: date | None = None
    visits: int = 0
    conversations: Counter[str] = field(default_factory=Counter)
    handed_off: Counter[str] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)
    emergencies: Counter[str] = field(default_factory=Counter)
    understanding: Counter[str] = field(default_factory=Counter)
    waits: dict[str, list[float]] = field(default_factory=lambda: {o: [] for o in WAIT_OUTCOMES})
    chats: list[float] = field(default_factory=list)
    transfers: int = 0
    contact_requests: Counter[str] = field(default_factory=Counter)
    contact_retries: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    purged: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def add_conversation(self, team: str, segment: Segment) -> None:
        """A conversation is counted for ``team``: its volume, handover, routes, emergencies, marks."""
        self.conversations[team] += 1
        self.handed_off[team] += segment.handed_off
        for kind, target in segment.routes:
            self.routes[f"{kind}:{target}"] += 1
            if kind == "emergency" and target in EMERGENCY_LEVELS:
                self.emergencies[target] += 1
        self.understanding.update(segment.marks)

    def summary(self) -> dict[str, Any]:
        """The known truth as JSON-ready data (seconds exact; the report gives their buckets)."""
        conversations, handed_off = sum(self.conversations.values()), sum(self.handed_off.values())
        ratings = sum(self.ratings.values())
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat() if self.last else None,
            "visits": self.visits,
            "conversations": conversations,
            "handed_off": handed_off,
            "bot_only": conversations - handed_off,
            "handover_rate": round(handed_off / conversations, 3) if conversations else None,
            "queue_wait": {
                "answered": len(self.waits["accepted"]),
                "p50_s": nearest_rank(self.waits["accepted"], 50),
                "p90_s": nearest_rank(self.waits["accepted"], 90),
                "abandoned": len(self.waits["cancelled"]),
                "abandoned_p50_s": nearest_rank(self.waits["cancelled"], 50),
                "closed": len(self.waits["closed"]),
            },
            "chat_duration": {
                "count": len(self.chats),
                "p50_s": nearest_rank(self.chats, 50),
                "p90_s": nearest_rank(self.chats, 90),
            },
            "transfers": self.transfers,
            "contact_requests": sum(self.contact_requests.values()),
            "contact_request_retries": self.contact_retries,
            "feedback": {
                "count": ratings,
                "mean": round(sum(r * n for r, n in self.ratings.items()) / ratings, 2) if ratings else None,
                "share_4_5": round((self.ratings[4] + self.ratings[5]) / ratings, 3) if ratings else None,
                "distribution": {str(r): self.ratings[r] for r in range(1, 6)},
            },
            "emergencies": {level: self.emergencies[level] for level in EMERGENCY_LEVELS},
            "understanding": {mark: self.understanding[mark] for mark in UNDERSTANDING_MARKS},
            "top_routes": dict(sorted(self.routes.items(), key=lambda item: (-item[1], item[0]))[:5]),
            "teams": {
                team: {
                    "conversations": self.conversations[team],
                    "handed_off": self.handed_off[team],
                    "contact_requests": self.contact_requests[team],
                }
                for team in sorted(set(self.conversations) | set(self.contact_requests))
            },
            "purged": dict(self.purged),
            "elapsed_s": round(self.elapsed_s, 1),
        }


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The ``percent`` percentile of ``values`` by nearest rank (as the report picks its bucket)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[-(-percent * len(ordered) // 100) - 1]


def lognormal_s(rng: random.Random, shape: tuple[float, float]) -> int:
    """Whole seconds from a lognormal distribution of ``(median, sigma)``; at least one."""
    median, sigma = shape
    return max(1, round(rng.lognormvariate(math.log(median), sigma)))


def arrivals(rng: random.Random, start: date, days: int, count: int) -> list[datetime]:
    """``count`` moments in ``days`` days from ``start`` (UTC), spread by hour, weekday and month.

    Every moment is half a second past a whole second, so that it never meets a maintenance run.
    """
    slots, weights = [], []
    for offset in range(days):
        day = start + timedelta(days=offset)
        weekday = 6 if holiday_name(day) else day.weekday()
        for hour, weight in enumerate(HOURS):
            slots.append(datetime.combine(day, clock_time(hour), tzinfo=HELSINKI).astimezone(UTC))
            weights.append(weight * WEEKDAYS[weekday] * MONTHS.get(day.month, 1.0))
    chosen = rng.choices(slots, weights=weights, k=count)
    return sorted(slot + timedelta(seconds=rng.randrange(3600) + 0.5) for slot in chosen)


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    """One key of ``weights``, drawn by its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def rating(rng: random.Random, shares: Sequence[float]) -> int:
    """A rating 1-5 drawn by ``shares``."""
    return rng.choices(range(1, 6), weights=shares)[0]


def route(kind: str, target: str, **extra: Any) -> dict[str, Any]:
    """The ``custom`` payload of a bot reply that gives a route (as actions.routing.Route.payload)."""
    return {"route": {"type": kind, "target": target, **extra}}


def said(text: str) -> str:
    """A resident's text: made up, and saying so."""
    return f"Simuloitu asukas: {text}"


class Simulation:
    """A year of residents, agents and maintenance, in time order, through the service's functions."""

    def __init__(self, database: Database, teams: Teams, routes: RouteTable, rng: random.Random) -> None:
        self.database, self.teams, self.routes, self.rng = database, teams, routes, rng
        self.now = NEVER
        self.session: Any = None  # the write session of the current batch
        self.events: list[tuple[datetime, int, Iterator[int]]] = []
        self.sequence = 0
        self.pending: list[tuple[datetime, int, str]] = []  # visits not yet started, latest first
        self.uncounted: set[Visit] = set()
        # The resident sessions and agents the batch has used: held, so that the service's session.get
        # finds them loaded (as within one request) instead of reading them again for every message.
        self.rows: dict[tuple[type, object], Any] = {}
        self.waiting: dict[str, Visit] = {}
        self.team_agents: dict[str, list[int]] = {}
        self.load: Counter[int] = Counter()
        self.last_purge: datetime | None = None
        self.team_weights = {team.id: TEAM_WEIGHTS.get(team.id, 0.05) for team in teams}
        self.topics = {
            team.id: [i.label for i in routes.intents.values() if i.type == "team" and i.target == team.id]
            or [team.name]
            for team in teams
        }
        self.form = next((i.target for i in routes.intents.values() if i.type == "form"), "contact_request")
        self.truth = Truth(first=date.min)
        self.workdir = tempfile.TemporaryDirectory(prefix="opastin-simulation-")
        outbox, logs = Path(self.workdir.name, "outbox"), Path(self.workdir.name, "log")
        outbox.mkdir()
        logs.mkdir()
        self.places = retention.Places(None, outbox, logs)

    # --- running --------------------------------------------------------------------------

    def run(self, moments: list[datetime], kinds: list[str]) -> Truth:
        """Simulate visits of ``kinds`` at ``moments`` (sorted); maintain until every one is counted."""
        self.truth.first = local_day(moments[0])
        self.truth.visits = len(moments)
        self._hire_agents(moments[0] - timedelta(days=1))
        visits = enumerate(zip(moments, kinds, strict=True))
        self.pending = [(moment, number, kind) for number, (moment, kind) in visits][::-1]
        tick = self._grid_after(moments[0], MAINTENANCE_IDLE_EVERY)
        while True:
            self._run_until(tick)
            if self.uncounted:
                self._maintain(tick)
            if not (self.pending or self.events or self.uncounted):
                break
            step = MAINTENANCE_EVERY if self.waiting else MAINTENANCE_IDLE_EVERY
            tick = self._grid_after(tick if self.uncounted else self._next_moment(), step)
        self.truth.last = local_day(tick)
        self.workdir.cleanup()
        return self.truth

    def _hire_agents(self, now: datetime) -> None:
        """Agents in every team, present from the start: the hours open and close the queues."""
        with self.database.writing() as session:
            for team in self.teams:
                for number in range(1, AGENTS_PER_TEAM + 1):
                    agent = agents.create_agent(
                        session,
                        f"sim-{team.id.replace('_', '-')}-{number}",
                        secrets.token_urlsafe(16),
                        now,
                        display_name=f"Simuloitu ammattilainen {number}",
                        team_ids=[team.id],
                    )
                    agents.set_presence(session, agent, team.id, now)
                    self.team_agents.setdefault(team.id, []).append(agent.id)

    @staticmethod
    def _grid_after(moment: datetime, step: timedelta) -> datetime:
        """The first multiple of ``step`` (since the epoch) after ``moment``."""
        seconds = step.total_seconds()
        return datetime.fromtimestamp((moment.timestamp() // seconds + 1) * seconds, UTC)

    def _next_moment(self) -> datetime:
        """When the next step or visit is due."""
        return min([event[0] for event in self.events[:1]] + [visit[0] for visit in self.pending[-1:]])

    def _run_until(self, until: datetime) -> None:
        """Run everything before ``until`` in one write transaction (one commit per batch)."""
        while self.pending and self.pending[-1][0] < until:
            moment, number, kind = self.pending.pop()
            self.spawn(self.visit(Visit(number, kind)), moment)
        if not self.events or self.events[0][0] >= until:
            return
        with self.database.writing() as session:
            self.session = session
            while self.events and self.events[0][0] < until:
                self.now, _, flow = heapq.heappop(self.events)
                delay = next(flow, None)
                if delay is not None:
                    self.spawn(flow, self.now + timedelta(seconds=delay))
            self.session = None
            self.rows.clear()

    def spawn(self, flow: Iterator[int], at: datetime) -> None:
        """Run ``flow`` from ``at``; it yields the seconds until its next step."""
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, flow))

    def _maintain(self, now: datetime) -> None:
        """The service's maintenance run: close queues of closed teams, count idle conversations, purge."""
        result = maintenance.run_once(self.database, self.teams, now, resume_within=RESUME)
        if self.last_purge is None or now - self.last_purge >= PURGE_EVERY:
            self.truth.purged.update(retention.purge(self.database, self.teams, self.places, now).removed)
            self.last_purge = now
        for conversation_id in result.closed_conversations:
            visit = self.waiting.pop(conversation_id)
            self._wait_ended(visit, "closed", CLOSED, now)
        idle_before = now - RESUME
        for visit in [v for v in self.uncounted if v.status not in OPEN and v.last_seen < idle_before]:
            self._counted(visit, now)

    # --- what the counting will see --------------------------------------------------------

    def _seen(self, visit: Visit) -> None:
        """The session's ``last_seen_at`` moved: it has activity to count."""
        visit.last_seen = self.now
        self.uncounted.add(visit)

    def _hold(self, model: type, key: object) -> None:
        """Keep a row loaded for the rest of the batch."""
        if (model, key) not in self.rows:
            self.rows[(model, key)] = self.session.get(model, key)

    def _counted(self, visit: Visit, now: datetime) -> None:
        """The service counts the visit's activity since it was last counted (counting.count_session)."""
        visit.counted_at = now
        self.uncounted.discard(visit)
        segment, visit.segment = visit.segment, Segment()
        if segment.wrote:
            team = visit.handoff_team if segment.handed_off else segment.last_team
            self.truth.add_conversation(team, segment)

    def _payload(self, visit: Visit, custom: dict[str, Any]) -> None:
        """What counting reads of a message's payload: its route and its understanding mark."""
        found = custom.get("route")
        if isinstance(found, dict):
            kind, target = found["type"], found["target"]
            visit.segment.routes[(kind, target)] = None
            if kind == "team":
                visit.segment.last_team = target
        if custom.get("understanding") in UNDERSTANDING_MARKS:
            visit.segment.marks.add(custom["understanding"])

    def _wait_ended(self, visit: Visit, outcome: str, status: str, now: datetime) -> None:
        """A wait in a queue ended with ``outcome``: how long it lasted."""
        assert visit.enqueued_at is not None
        self.truth.waits[outcome].append((now - visit.enqueued_at).total_seconds())
        visit.status = status

    # --- what the gateway stores -----------------------------------------------------------

    def open_page(self, visit: Visit) -> None:
        """The page opens a session and greets the bot by itself; the bot answers."""
        binding = sessions.open_session(self.session, None, self.now, RESUME)
        visit.conversation_id, visit.secret = binding.conversation_id, binding.secret
        self._hold(ResidentSession, visit.conversation_id)
        self._seen(visit)
        self.write(visit, GREETING)
        self.reply(visit, "Simuloitu botti: hei, miten voin auttaa?")

    def reload(self, visit: Visit) -> None:
        """The resident reloads the page: the session resumes."""
        binding = sessions.open_session(self.session, visit.secret, self.now, RESUME)
        assert binding.resumed
        self._seen(visit)

    def write(self, visit: Visit, text: str, emergency: str | None = None) -> sessions.ResidentTurn:
        """The resident writes (to the bot, or to the agent side while queued or live)."""
        self._hold(ResidentSession, visit.conversation_id)
        turn = sessions.take_resident_message(self.session, visit.conversation_id, text, self.now, emergency)
        self._seen(visit)
        if text != GREETING:
            visit.segment.wrote = True
            visit.transcript.append({"sender": "resident", "text": text, "timestamp": self.now.isoformat()})
        return turn

    def reply(self, visit: Visit, text: str, custom: dict[str, Any] | None = None) -> None:
        """A bot reply as the gateway stores it (``custom``: its payload, e.g. a route)."""
        self.tell(visit, {"text": text, "custom": custom} if custom else {"text": text})
        visit.transcript.append({"sender": "bot", "text": text, "timestamp": self.now.isoformat()})

    def tell(self, visit: Visit, message: dict[str, Any]) -> None:
        """Store a ``bot_uttered`` message for the resident, as the gateway does."""
        self._hold(ResidentSession, visit.conversation_id)
        sessions.record_uttered(self.session, visit.conversation_id, message, self.now)
        self._payload(visit, message.get("custom") or {})

    def turn(self, visit: Visit, text: str, custom: dict[str, Any] | None = None, answer: str = "") -> None:
        """The resident writes and the bot answers (with a payload if given)."""
        self.write(visit, said(text))
        self.reply(visit, f"Simuloitu botti: {answer or 'vastaus'}.", custom)

    def end(self, visit: Visit) -> None:
        """The resident presses "Lopeta keskustelu" (gateway: end the session, then leave any queue)."""
        sessions.end_session(self.session, visit.conversation_id, self.now)
        if not visit.ended and (visit.counted_at is None or visit.last_seen > visit.counted_at):
            self._counted(visit, self.now)
        visit.ended = True
        relay.resident_left(self.session, visit.conversation_id, self.now)
        if visit.status == WAITING:
            self.waiting.pop(visit.conversation_id)
            self._wait_ended(visit, "cancelled", CANCELLED, self.now)

    def later(self, shape: tuple[float, float]) -> datetime:
        """A moment after now, lognormally distributed by ``shape`` (median s, sigma)."""
        return self.now + timedelta(seconds=lognormal_s(self.rng, shape))

    def agent_says(self, visit: Visit, text: str) -> None:
        """The agent who holds the chat writes to the resident."""
        text = f"Simuloitu ammattilainen: {text}."
        self._hold(Agent, visit.agent_id)
        relay.agent_says(self.session, visit.agent_id, visit.conversation_id, text, self.now)

    def think(self, low: int = 8, high: int = 90) -> int:
        """Seconds the resident takes to read and answer."""
        return self.rng.randint(low, high)

    # --- residents -------------------------------------------------------------------------

    def visit(self, visit: Visit) -> Iterator[int]:
        """One resident page from opening to the end of the resident's part."""
        self.open_page(visit)
        if visit.kind == "page_only":
            return
        yield self.think()
        if self.rng.random() < P_RELOAD:
            self.reload(visit)
        if visit.kind in ("team", "omaolo", "webpage") and self.rng.random() < P_CLARIFY:
            self.turn(visit, "kysymys, jota botti ei ymmärrä", {"understanding": "clarify"}, "tarkoititko")
            yield self.think()
        flows = {
            "team": self.team_topic,
            "omaolo": self.symptom,
            "webpage": self.web_page,
            "person": self.person,
            "form": self.form_only,
            "emergency": self.emergency,
            "unclear": self.unclear,
        }
        yield from flows[visit.kind](visit)

    def team_topic(self, visit: Visit) -> Iterator[int]:
        """A team's topic: the bot routes to the team and tells whether it takes residents now."""
        team = self.teams.by_id[pick(self.rng, self.team_weights)]
        topic = self.rng.choice(self.topics[team.id])
        accepting = self._accepting(team)
        self.turn(visit, topic.lower(), route("team", team.id, label=team.name, accepting=accepting), topic)
        yield self.think()
        if accepting and self.rng.random() < P_JOIN:
            yield from self.queue_up(visit, team, topic)
            return
        if self.rng.random() < (P_CONTACT_OPEN if accepting else P_CONTACT_CLOSED):
            yield from self.contact_form(visit, team, topic)
        yield from self.bot_ending(visit)

    def symptom(self, visit: Visit) -> Iterator[int]:
        """A symptom: the bot points to Omaolo's symptom assessment."""
        omaolo = self.routes.omaolo
        if self.rng.random() < 0.2:
            self.turn(visit, "oire", route("omaolo", omaolo.front_page, symptom="general", label="Omaolo"))
        else:
            symptom = self.rng.choice(omaolo.symptoms)
            self.turn(visit, symptom.name.lower(), route("omaolo", symptom.url, symptom=symptom.id))
        yield from self.bot_ending(visit)

    def web_page(self, visit: Visit) -> Iterator[int]:
        """A question a page of the county answers."""
        page = self.rng.choice(list(self.routes.pages.values()))
        self.turn(visit, page.label.lower(), route("webpage", page.url, page=page.id, label=page.label))
        yield from self.bot_ending(visit)

    def person(self, visit: Visit) -> Iterator[int]:
        """The resident asks for a person: the bot offers the teams that take residents now."""
        taking = [team.id for team in self.teams if self._accepting(team)]
        open_now = any(is_open(team.schedule, self.now) for team in self.teams)
        kind = "offered" if taking else "nobody_free" if open_now else "none_open"
        self.turn(visit, "haluan puhua ihmisen kanssa", route("person", kind, teams=taking))
        yield self.think()
        if taking and self.rng.random() < P_PERSON_JOINS:
            team = self.teams.by_id[pick(self.rng, {t: self.team_weights[t] for t in taking})]
            self.turn(visit, team.name.lower(), route("team", team.id, label=team.name, accepting=True))
            yield self.think(3, 20)
            yield from self.queue_up(visit, team, team.name)
            return
        if self.rng.random() < P_CONTACT_CLOSED:
            yield from self.contact_form(visit, self._any_team(), "Yhteydenotto")
        yield from self.bot_ending(visit)

    def form_only(self, visit: Visit) -> Iterator[int]:
        """The resident asks to leave a message or a call request."""
        team = self._any_team()
        yield from self.contact_form(visit, team, self.rng.choice(self.topics[team.id]))
        yield from self.bot_ending(visit)

    def emergency(self, visit: Visit) -> Iterator[int]:
        """The safety net: an emergency route by level; a suspicion gets one safety question first."""
        level = pick(self.rng, EMERGENCY_WEIGHTS)
        extra = {"suspected": "116117"} if level == "confirm" else {}
        self.turn(visit, "hätätilanteen esimerkki", route("emergency", level, **extra), "ohje")
        if level == "confirm":
            yield self.think()
            if self.rng.random() < 0.4:
                self.turn(visit, "kyllä", route("emergency", pick(self.rng, {"116117": 0.7, "112": 0.3})))
            else:
                self.turn(visit, "ei")
        yield from self.bot_ending(visit)

    def unclear(self, visit: Visit) -> Iterator[int]:
        """The bot does not understand twice; half of these residents then ask for a person."""
        self.turn(visit, "epäselvä viesti", answer="en ymmärtänyt")
        yield self.think()
        self.turn(visit, "toinen epäselvä viesti", {"understanding": "fallback"}, "ohjaan eteenpäin")
        yield self.think()
        if self.rng.random() < 0.5:
            yield from self.person(visit)
        else:
            yield from self.bot_ending(visit)

    def _accepting(self, team: Team) -> bool:
        """Whether the team takes residents now (queue.TeamState.accepting, from what the simulation
        knows: the service's own check costs a window query, and enqueue checks again anyway)."""
        queued = sum(visit.handoff_team == team.id for visit in self.waiting.values())
        room = len(self.team_agents[team.id]) * team.max_chats_per_agent
        return is_open(team.schedule, self.now) and queued < room

    def _any_team(self) -> Team:
        """A team drawn by how much of the traffic is its."""
        return self.teams.by_id[pick(self.rng, self.team_weights)]

    def contact_form(self, visit: Visit, team: Team, topic: str) -> Iterator[int]:
        """The bot's contact form, sent by the action server (a retry is stored and counted once)."""
        self.turn(visit, "jätän yhteydenottopyynnön", route("form", self.form), "lomake")
        yield self.think(30, 180)
        self.write(visit, said("lomakkeen tiedot"))
        request_id = f"sim-{visit.number}-{self.now.timestamp():.0f}"
        retried = self.rng.random() < P_CONTACT_RETRY
        for _ in range(1 + retried):
            create_contact_request(
                self.session,
                team,
                topic=topic,
                message="Simuloitu yhteydenottopyyntö.",
                contact_method="email",
                contact_value=f"asukas-{visit.number}@example.invalid",
                consent=True,
                conversation_id=visit.conversation_id,
                now=self.now,
                request_id=request_id,
            )
        self.truth.contact_requests[team.id] += 1
        self.truth.contact_retries += retried
        self.reply(visit, "Simuloitu botti: pyyntö vastaanotettu.")

    def bot_ending(self, visit: Visit) -> Iterator[int]:
        """After the bot alone: maybe a rating, maybe "Lopeta keskustelu", or back an hour later."""
        if self.rng.random() < P_FEEDBACK_BOT:
            yield self.think(5, 40)
            self.feedback(visit, rating(self.rng, BOT_RATINGS))
        if self.rng.random() < P_END_BOT:
            yield self.think(3, 30)
            self.end(visit)
        elif self.rng.random() < P_USED_AGAIN:
            yield self.rng.randint(45 * 60, 180 * 60)
            symptom = self.rng.choice(self.routes.omaolo.symptoms)
            self.turn(visit, symptom.name.lower(), route("omaolo", symptom.url, symptom=symptom.id))

    def feedback(self, visit: Visit, stars: int) -> None:
        """A rating (sometimes with a comment) stored through the service API."""
        comment = "Simuloitu palaute." if self.rng.random() < P_COMMENT else None
        store_feedback(
            self.session, rating=stars, comment=comment, conversation_id=visit.conversation_id, now=self.now
        )
        self.truth.ratings[stars] += 1

    # --- queues and chats ------------------------------------------------------------------

    def queue_up(self, visit: Visit, team: Team, topic: str) -> Iterator[int]:
        """The resident asks for the team's chat: the bot says so and the action server queues them."""
        self.write(visit, said("haluan jutella"))
        summary = f"Simuloitu yhteenveto: {topic}"
        try:
            enqueue(self.session, team, visit.conversation_id, summary, visit.transcript[-20:], self.now)
        except (TeamClosed, NobodyPresent, QueueFull):  # it closed or filled meanwhile: the API's 409
            self.reply(visit, "Simuloitu botti: chat ei ota juuri nyt uusia.")
            yield from self.bot_ending(visit)
            return
        self.reply(visit, "Simuloitu botti: jonossa.", route("team", team.id, label=team.name, queued=True))
        self._queued(visit, team.id)
        self.spawn(self.pickup(visit, team), self.later(PICKUP))
        joined, patience, waited = self.now, lognormal_s(self.rng, PATIENCE), 0

        def still_waiting() -> bool:
            return visit.status == WAITING and visit.enqueued_at == joined

        while still_waiting() and waited < patience:
            step = min(self.rng.randint(*PING_S), patience - waited)
            yield step
            waited += step
            if still_waiting() and waited < patience:
                self.write(visit, said("odotan vielä"))
        if still_waiting():
            self.end(visit)
        elif visit.status == CLOSED:
            yield self.think(20, 120)
            if self.rng.random() < P_CONTACT_CUT:
                yield from self.contact_form(visit, team, topic)
            yield from self.bot_ending(visit)

    def _queued(self, visit: Visit, team_id: str) -> None:
        """The conversation waits in ``team_id``'s queue from now."""
        visit.status, visit.enqueued_at, visit.handoff_team = WAITING, self.now, team_id
        visit.segment.handed_off = True
        self.waiting[visit.conversation_id] = visit

    def pickup(self, visit: Visit, team: Team) -> Iterator[int]:
        """An agent of the team accepts the waiting resident when free (only while the team is open)."""
        while visit.status == WAITING and visit.handoff_team == team.id:
            if not is_open(team.schedule, self.now):
                return  # the agents have left; the maintenance closes the queue
            agent_id = self._free_agent(team)
            if agent_id is None:
                yield 60
                continue
            self._hold(Agent, agent_id)
            relay.accept(self.session, self.teams, agent_id, team.id, visit.conversation_id, self.now)
            self.waiting.pop(visit.conversation_id)
            self._wait_ended(visit, "accepted", LIVE, self.now)
            visit.accepted_at, visit.agent_id = self.now, agent_id
            self.load[agent_id] += 1
            yield from self.chat(visit, team)
            return

    def _free_agent(self, team: Team) -> int | None:
        """The team's least busy agent with room for one more chat, if any."""
        free = [a for a in self.team_agents[team.id] if self.load[a] < team.max_chats_per_agent]
        return min(free, key=lambda a: self.load[a]) if free else None

    def chat(self, visit: Visit, team: Team) -> Iterator[int]:
        """A live chat: messages both ways, maybe a transfer, then the agent ends it."""
        duration = lognormal_s(self.rng, CHAT)
        exchanges = max(1, min(8, duration // 150))
        gap = max(5, duration // (exchanges + 1))
        yield self.rng.randint(5, 20)
        self.agent_says(visit, "hei, miten voin auttaa?")
        for _ in range(exchanges):
            yield gap
            level = pick(self.rng, {"112": 0.3, "crisis": 0.4, "116117": 0.3})
            emergency = level if self.rng.random() < P_EMERGENCY_IN_CHAT else None
            self.write(visit, said("viesti ammattilaiselle"), emergency)
            if emergency is not None:
                self.tell(visit, emergency_message(emergency))  # the gateway's own advice
            if self.rng.random() < P_LEAVES_CHAT / exchanges:
                self.end(visit)  # the chat stays open until the agent ends it
                yield self.rng.randint(30, 180)
                self._end_chat(visit)
                return
            yield self.rng.randint(20, 90)
            self.agent_says(visit, "vastaus")
        if self.rng.random() < P_TRANSFER:
            target = self._transfer_target(team)
            if target is not None:
                moved = yield from self.transfer(visit, target)
                if moved:
                    return
        yield gap
        self._end_chat(visit)
        yield from self.after_chat(visit)

    def _end_chat(self, visit: Visit) -> None:
        """The agent ends the chat."""
        self._hold(Agent, visit.agent_id)
        relay.end(self.session, visit.agent_id, visit.conversation_id, self.now)
        self._chat_over(visit, BOT)

    def _chat_over(self, visit: Visit, status: str) -> None:
        """The agent's chat is over (ended or transferred): how long it lasted."""
        assert visit.accepted_at is not None
        self.truth.chats.append((self.now - visit.accepted_at).total_seconds())
        self.load[visit.agent_id] -= 1
        visit.status = status

    def _transfer_target(self, team: Team) -> Team | None:
        """Another team open now, if any."""
        others = [t for t in self.teams if t.id != team.id and is_open(t.schedule, self.now)]
        open_now = {t.id: self.team_weights[t.id] for t in others}
        return self.teams.by_id[pick(self.rng, open_now)] if open_now else None

    def transfer(self, visit: Visit, target: Team) -> Generator[int, None, bool]:
        """The agent proposes a transfer; the resident answers with a button. Returns whether it moved."""
        conversation_id = visit.conversation_id
        relay.propose_transfer(self.session, self.teams, visit.agent_id, conversation_id, target.id, self.now)
        yield self.think(5, 40)
        consent = self.rng.random() < P_CONSENT
        turn = self.write(visit, YES_PAYLOAD if consent else NO_PAYLOAD)
        assert turn.consent is consent
        relay.answer_transfer(self.session, self.teams, visit.conversation_id, consent, self.now)
        if not consent:
            return False
        self._chat_over(visit, WAITING)
        self.truth.transfers += 1
        self._queued(visit, target.id)
        self.spawn(self.pickup(visit, target), self.later(TRANSFER_PICKUP))
        return True

    def after_chat(self, visit: Visit) -> Iterator[int]:
        """Back with the bot: maybe a rating, maybe "Lopeta keskustelu"."""
        if self.rng.random() < P_FEEDBACK_CHAT:
            yield self.think(10, 60)
            self.feedback(visit, rating(self.rng, CHAT_RATINGS))
        if self.rng.random() < P_END_CHAT:
            yield self.think(3, 30)
            self.end(visit)


def empty(database: Database) -> bool:
    """Whether the database holds no conversations and no counts yet (the truth holds only then)."""
    with database.reading() as session:
        sessions_stored = session.execute(select(func.count()).select_from(ResidentSession)).scalar_one()
        counts_stored = session.execute(select(func.count()).select_from(DailyCount)).scalar_one()
    return bool(sessions_stored == 0 and counts_stored == 0)


def simulate(url: str, conversations: int, seed: int, start: date, days: int = 365) -> Truth:
    """Migrate the empty database at ``url``; simulate ``conversations`` in ``days`` days from ``start``."""
    migrate(url)
    database = Database(url)
    try:
        if not empty(database):
            raise SystemExit(f"{shown(url)} already holds conversations or counts; give an empty database")
        rng = random.Random(seed)
        teams = load_teams(DEFAULT_TEAMS_FILE)
        kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=conversations)
        kinds += ["page_only"] * round(conversations * PAGE_ONLY_SHARE)
        rng.shuffle(kinds)
        moments = arrivals(rng, start, days, len(kinds))
        started = time.perf_counter()
        truth = Simulation(database, teams, load_routes(catalogue=teams), rng).run(moments, kinds)
        truth.elapsed_s = time.perf_counter() - started
        return truth
    finally:
        database.dispose()


def shown(url: str) -> str:
    """A database URL without its password."""
    return str(make_url(url).render_as_string(hide_password=True))


def seconds(value: float | None) -> str:
    """Seconds to read, or a dash for none."""
    return "-" if value is None else f"{value:.0f} s"


def describe(summary: dict[str, Any]) -> list[str]:
    """The truth as a few lines to read."""
    wait, chats, rated = summary["queue_wait"], summary["chat_duration"], summary["feedback"]
    answered = f"p50 {seconds(wait['p50_s'])}  p90 {seconds(wait['p90_s'])}"
    rate, elapsed = summary["handover_rate"], summary["elapsed_s"]
    rows = [
        ("period", f"{summary['from']} - {summary['to']}"),
        ("pages opened", f"{summary['visits']:,}"),
        ("conversations", f"{summary['conversations']:,}"),
        ("handed off", f"{summary['handed_off']:,} ({rate:.1%})" if rate is not None else "0"),
        ("waits answered", f"{wait['answered']:,}  {answered}"),
        ("waits abandoned", f"{wait['abandoned']:,}  p50 {seconds(wait['abandoned_p50_s'])}"),
        ("waits cut by closing", f"{wait['closed']:,}"),
        ("chats", f"{chats['count']:,}  p50 {seconds(chats['p50_s'])}  p90 {seconds(chats['p90_s'])}"),
        ("transfers", f"{summary['transfers']:,}"),
        ("contact requests", f"{summary['contact_requests']:,}, {summary['contact_request_retries']} resent"),
        ("feedback", f"{rated['count']:,}  mean {rated['mean']}  4-5: {rated['share_4_5']}"),
        ("emergencies", ", ".join(f"{level}: {n}" for level, n in summary["emergencies"].items())),
        ("understanding", ", ".join(f"{mark}: {n}" for mark, n in summary["understanding"].items())),
        ("purged", ", ".join(f"{store}: {n}" for store, n in summary["purged"].items() if n) or "nothing"),
        ("took", f"{summary['elapsed_s']} s ({summary['visits'] / max(elapsed, 0.001):,.0f} pages/s)"),
    ]
    return [f"{name:<22}{value}" for name, value in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000, help="conversations to simulate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="an empty database (URL)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1), help="first day")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--truth", type=Path, help="write the known truth here as JSON")
    args = parser.parse_args(argv)
    truth = simulate(args.database, args.conversations, args.seed, args.start, args.days)
    summary = truth.summary()
    print(f"Simulated into {shown(args.database)} (seed {args.seed}):")
    print("\n".join(describe(summary)))
    if args.truth:
        args.truth.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
