"""Counting for the statistics: daily counts per team, added when what they count ends.

Nothing is counted by reading message tables at report time. The code that
ends a wait, a chat or a conversation adds its counts, in the same
transaction, to :class:`~handoff.models.DailyCount` (a day in Helsinki time, a
team, a measure, a label, the count). Those rows hold no text, identity or
conversation id, so they outlive the retention purge. docs/statistics.md
lists the measures.

* A wait in a team's queue ends (:mod:`handoff.queue`): the agent accepted,
  the resident left, or the team closed: ``wait_accepted``, ``wait_cancelled``,
  ``wait_closed``, histograms over :data:`BUCKETS_S`.
* An agent's chat ends (:mod:`handoff.live`, :func:`handoff.queue.requeue_at_head`):
  ended, transferred, or the agent's desk stayed away: ``chat_duration``; a
  transfer also counts ``transfer`` (label: the new team).
* A contact request or feedback is stored: ``contact_request``, ``feedback``
  (label: the rating); a contact request is handled: ``contact_handled``
  (label ``on_time`` by the reply date promised, ``late``, or ``unknown``).
* A resident's conversation is over (:func:`count_session`): the resident
  ended it, it can no longer be resumed (:func:`count_idle_sessions`, run by
  the maintenance task), or it is about to be purged: ``conversations``,
  ``handed_off``, ``route`` (label ``type:target``, each route once per
  conversation), ``emergency`` (label: the level) and ``understanding``
  (label ``clarify``: the bot asked which topic was meant; ``fallback``: it did
  not understand twice and offered a person or the form; each once per
  conversation).

Each is counted once: a queue entry leaves its queue once, a chat is
accepted anew before it can end again, and a conversation keeps the moment
it was counted (``ResidentSession.counted_at``), so ending it again or
purging it adds nothing. Activity after that moment (a page left open) is
counted as a conversation of its own when it is over again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handoff import learning
from handoff.models import (
    LABEL_LENGTH,
    OPEN_STATUSES,
    Conversation,
    DailyCount,
    QueueEntry,
    ResidentSession,
    SessionMessage,
)
from handoff.payloads import route_of, understanding_of
from opastin.hours import HELSINKI
from opastin.teams import TEAM_ID_PATTERN

# Lower edges of the histogram buckets in seconds; the last bucket has no upper edge. Stored counts
# keep their bucket: edges may be added between these, never moved or removed.
BUCKETS_S = (0, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)
EMERGENCY_LEVELS = ("112", "116117", "crisis", "social", "confirm")
NO_TEAM = ""
# What the resident page sends by itself when a conversation starts (webchat/src/chat.js).
GREETING = "/greet"

CONVERSATIONS = "conversations"
HANDED_OFF = "handed_off"
ROUTE = "route"
EMERGENCY = "emergency"
UNDERSTANDING = "understanding"
# The ``understanding`` marks of the bot's replies (actions.routing), counted once per conversation.
UNDERSTANDING_MARKS = ("clarify", "fallback")
CHAT_DURATION = "chat_duration"
TRANSFER = "transfer"
CONTACT_REQUEST = "contact_request"
# A contact request marked handled: label ``on_time`` (by the reply date promised), ``late``, or
# ``unknown`` (stored before the promise was).
CONTACT_HANDLED = "contact_handled"
FEEDBACK = "feedback"


def wait_metric(outcome: str) -> str:
    """The measure of waits that ended with ``outcome`` (``accepted``, ``cancelled``, ``closed``)."""
    return f"wait_{outcome}"


def local_day(moment: datetime) -> date:
    """The date of ``moment`` in Helsinki."""
    return moment.astimezone(HELSINKI).date()


def bucket(seconds: float) -> str:
    """The label of the bucket ``seconds`` falls in: its lower edge in :data:`BUCKETS_S`."""
    return str(max(edge for edge in BUCKETS_S if edge <= max(seconds, 0)))


def add(session: Session, moment: datetime, team_id: str, metric: str, label: str = "") -> None:
    """Add one to a count of the day of ``moment`` (the row is created at the first)."""
    values = {
        "day": local_day(moment),
        "team_id": team_id,
        "metric": metric,
        "label": label[:LABEL_LENGTH],
        "value": 1,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DailyCount).values(**values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["day", "team_id", "metric", "label"],
            set_={"value": DailyCount.value + insert.excluded.value},
        )
    )


def count_wait(session: Session, entry: QueueEntry) -> None:
    """A wait in a queue ended (``left_at`` and ``outcome`` set): its length, by outcome."""
    waited = (entry.left_at - entry.enqueued_at).total_seconds()
    add(session, entry.left_at, entry.team_id, wait_metric(entry.outcome), bucket(waited))


def count_chat(session: Session, conversation: Conversation, now: datetime) -> None:
    """An agent's chat ends at ``now``: its length from the accept, for the team it is in."""
    if conversation.accepted_at is not None:
        duration = (now - conversation.accepted_at).total_seconds()
        add(session, now, conversation.team_id, CHAT_DURATION, bucket(duration))


def count_transfer(session: Session, from_team: str, to_team: str, now: datetime) -> None:
    """A chat moved from one team to another with the resident's consent."""
    add(session, now, from_team, TRANSFER, to_team)


def count_contact_request(session: Session, team_id: str, now: datetime) -> None:
    """A contact request for ``team_id`` was stored."""
    add(session, now, team_id, CONTACT_REQUEST)


def count_contact_handled(session: Session, team_id: str, reply_by: date | None, now: datetime) -> None:
    """A contact request of ``team_id`` was handled at ``now``: by the reply date promised, or late."""
    label = "unknown" if reply_by is None else ("on_time" if local_day(now) <= reply_by else "late")
    add(session, now, team_id, CONTACT_HANDLED, label)


def count_feedback(session: Session, conversation_id: str | None, rating: int, now: datetime) -> None:
    """A rating was stored, for the team of its conversation."""
    team = team_of(session, conversation_id) if conversation_id else NO_TEAM
    add(session, now, team, FEEDBACK, str(rating))


def team_of(session: Session, conversation_id: str) -> str:
    """The team a conversation was handed to, else the last team the bot routed it to, else none."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None:
        return str(conversation.team_id)
    return _last_team(_routes(session, conversation_id, None))


def count_session(session: Session, row: ResidentSession, now: datetime) -> None:
    """Count the conversation's activity since it was last counted, if any; mark it counted at ``now``.

    Only a conversation in which the resident sent something besides the
    page's own greeting counts. Its day is the day it ended (or was last active).
    """
    since = row.counted_at
    if since is not None and row.last_seen_at <= since:
        return
    row.counted_at = now
    conversation_id = row.conversation_id
    if not _resident_wrote(session, conversation_id, since):
        return
    payloads = _payloads(session, conversation_id, since)
    routes = [route for payload in payloads if (route := route_of(payload))]
    handed_off = _handed_off(session, conversation_id, since)
    team = team_of(session, conversation_id) if handed_off else _last_team(routes)
    moment = row.ended_at or row.last_seen_at
    add(session, moment, team, CONVERSATIONS)
    if handed_off:
        add(session, moment, team, HANDED_OFF)
    for kind, target in dict.fromkeys(routes):
        add(session, moment, team, ROUTE, f"{kind}:{target}")
        if kind == "emergency" and target in EMERGENCY_LEVELS:
            add(session, moment, team, EMERGENCY, target)
    for mark in dict.fromkeys(understanding_of(payload) for payload in payloads):
        if mark in UNDERSTANDING_MARKS:
            add(session, moment, team, UNDERSTANDING, mark)
    # What the bot did not understand goes to the editors' learning queue at the same moment.
    learning.collect_conversation(session, conversation_id, since, team, routes, handed_off, now)


def count_idle_sessions(session: Session, idle_before: datetime, now: datetime) -> None:
    """Count the conversations with uncounted activity, idle since before ``idle_before`` and not
    queued or live."""
    still_open = (
        select(Conversation.id)
        .where(Conversation.id == ResidentSession.conversation_id, Conversation.status.in_(OPEN_STATUSES))
        .exists()
    )
    uncounted = or_(  # models.UNCOUNTED, the condition of the index that finds them
        ResidentSession.counted_at.is_(None), ResidentSession.last_seen_at > ResidentSession.counted_at
    )
    rows = (
        session.execute(
            select(ResidentSession)
            .where(ResidentSession.last_seen_at < idle_before, uncounted, ~still_open)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for row in rows:
        count_session(session, row, now)


def _since(statement: Any, column: Any, since: datetime | None) -> Any:
    return statement if since is None else statement.where(column > since)


def _resident_wrote(session: Session, conversation_id: str, since: datetime | None) -> bool:
    statement = select(SessionMessage.id).where(
        SessionMessage.conversation_id == conversation_id,
        SessionMessage.sender == "resident",
        SessionMessage.text != GREETING,
    )
    return session.execute(_since(statement, SessionMessage.created_at, since).limit(1)).first() is not None


def _handed_off(session: Session, conversation_id: str, since: datetime | None) -> bool:
    statement = select(QueueEntry.id).where(QueueEntry.conversation_id == conversation_id)
    return session.execute(_since(statement, QueueEntry.enqueued_at, since).limit(1)).first() is not None


def _routes(session: Session, conversation_id: str, since: datetime | None) -> list[tuple[str, str]]:
    """The ``(type, target)`` of every route payload sent to the resident, in order."""
    return [route for payload in _payloads(session, conversation_id, since) if (route := route_of(payload))]


def _payloads(session: Session, conversation_id: str, since: datetime | None) -> list[Any]:
    """The payload of every message with one sent to the resident, in order."""
    statement = select(SessionMessage.payload).where(
        SessionMessage.conversation_id == conversation_id, SessionMessage.payload.is_not(None)
    )
    ordered = _since(statement, SessionMessage.created_at, since).order_by(SessionMessage.id)
    return list(session.execute(ordered).scalars())


def _last_team(routes: list[tuple[str, str]]) -> str:
    teams = [target for kind, target in routes if kind == "team" and TEAM_ID_PATTERN.match(target)]
    return teams[-1] if teams else NO_TEAM
