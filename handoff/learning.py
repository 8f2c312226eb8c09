"""The learning queue: residents' messages the bot could learn from, reviewed by content editors.

Items are collected where the service already sees what happened, masked
(:mod:`opastin.redact`) before they are stored:

* a conversation is over (:func:`collect_conversation`, called where it is
  counted for the statistics): each message the bot did not understand
  (``not_understood``: it asked which topic was meant, or offered a person
  after two misses), and each one whose clarifying question the resident
  answered with a topic (``clarified``, the topic as the suggested intent);
* a professional moved a chat to another team (:func:`note_transfer`): the
  message the bot routed to the first team (``transferred``);
* a resident left a feedback comment (:func:`note_feedback`).

An editor labels an item with an intent and rewrites it into a generic
example (:func:`approve`; refused while any personal data or mask remains), or
marks it not for the bot (:func:`reject`). Either way the resident's words
are dropped at once. :func:`export_training` writes the approved examples as
Rasa NLU YAML for review in git. Unreviewed items are purged with their
conversation's retention (:func:`purge`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import InvalidInput, NotFound
from handoff.models import LearningItem, SessionMessage
from handoff.payloads import route_of, understanding_of
from opastin.content import PROJECT_ROOT
from opastin.finnish_text import Lemmatizer, normalise
from opastin.redact import Redactor
from opastin.teams import Teams

NOT_UNDERSTOOD = "not_understood"
CLARIFIED = "clarified"
TRANSFERRED = "transferred"
FEEDBACK = "feedback"
SOURCES = (NOT_UNDERSTOOD, CLARIFIED, TRANSFERRED, FEEDBACK)

NEW = "new"
APPROVED = "approved"
REJECTED = "rejected"
EXPORTED = "exported"

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
EXPORT_FILE = NLU_DIR / "learned.yml"
# Intents a resident's words are never labelled with.
UNLABELLED_INTENTS = frozenset({"nlu_fallback"})
MAX_EXAMPLE_LENGTH = 300
# Items whose normalised words are at least this similar (rapidfuzz token set ratio) form a group.
SIMILARITY = 75
SHOWN_ITEMS = 200
# What the resident page sends by itself, and the understanding marks of the bot (actions.routing).
GREETING = "/greet"
CLARIFY_MARK = "clarify"
FALLBACK_MARK = "fallback"
EXPORT_HEADER = (
    "# Examples approved in the learning queue (/desk/opetus) and written by\n"
    "# `python -m handoff export-training`: editors' generic rewrites, never residents' own words.\n"
    "# Review in git before training.\n"
)


class ExampleRefused(InvalidInput):
    """The rewritten example still holds personal data (``kinds``: see :mod:`opastin.redact`)."""

    code = "example_has_personal_data"

    def __init__(self, kinds: Sequence[str]) -> None:
        super().__init__(f"the example still holds: {', '.join(kinds)}")
        self.kinds = tuple(kinds)


class UnknownItem(NotFound):
    """No such item waiting for review."""

    code = "unknown_learning_item"


@dataclass(frozen=True)
class ItemRow:
    """An item waiting for review, as the desk shows it."""

    id: int
    source: str
    text: str
    suggested_intent: str | None
    outcome: Mapping[str, Any]
    created_at: datetime


@lru_cache(maxsize=1)
def redactor() -> Redactor:
    """The process's redactor: Voikko, and the training examples' words as the known vocabulary."""
    return Redactor(Lemmatizer(), training_vocabulary())


def training_examples(nlu_dir: Path = NLU_DIR) -> dict[str, set[str]]:
    """The examples of every intent in the training data, by intent."""
    found: dict[str, set[str]] = {}
    for path in sorted(nlu_dir.glob("*.yml")):
        for intent, examples in _file_examples(path).items():
            found.setdefault(intent, set()).update(examples)
    return found


def training_vocabulary(nlu_dir: Path = NLU_DIR) -> frozenset[str]:
    """Every lowercased word of the training examples."""
    words = (word for examples in training_examples(nlu_dir).values() for e in examples for word in e.split())
    return frozenset(word.strip(".,!?:;\"'()").lower() for word in words)


def labelled_intents(domain_file: Path = DOMAIN_FILE) -> tuple[str, ...]:
    """The domain's intents an editor may choose, in the domain's order."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    names = [next(iter(i)) if isinstance(i, dict) else str(i) for i in domain.get("intents") or []]
    return tuple(name for name in names if name not in UNLABELLED_INTENTS)


def collect_conversation(
    session: Session,
    conversation_id: str,
    since: datetime | None,
    team_id: str,
    routes: Sequence[tuple[str, str]],
    handed_off: bool,
    now: datetime,
) -> int:
    """Collect what the bot did not understand in a conversation's messages after ``since``;
    returns how many items were added."""
    statement = select(SessionMessage.sender, SessionMessage.text, SessionMessage.payload).where(
        SessionMessage.conversation_id == conversation_id
    )
    if since is not None:
        statement = statement.where(SessionMessage.created_at > since)
    messages = session.execute(statement.order_by(SessionMessage.id)).all()
    outcome = {"route": ":".join(routes[-1]) if routes else None, "handed_off": handed_off}
    found = misunderstood(messages)
    for source, text, intent in found:
        _add(session, source, text, intent, outcome, team_id, conversation_id, now)
    return len(found)


def misunderstood(messages: Iterable[tuple[str, str | None, Any]]) -> list[tuple[str, str, str | None]]:
    """``(source, text, suggested intent)`` of each resident message the bot did not understand.

    ``messages`` are ``(sender, text, payload)`` in order. A message followed by
    the bot's clarifying question is ``clarified`` when the next message is a
    topic button (``/intent``), otherwise ``not_understood``, as is a message
    followed by the offer of a person after two misses.
    """
    found: dict[str, tuple[str, str, str | None]] = {}
    last: str | None = None  # the resident's last message in their own words
    asked: str | None = None  # the message the bot asked to clarify
    for sender, text, payload in messages:
        if sender == "resident":
            if asked is not None:
                chosen = _chosen_intent(text)
                found.setdefault(asked, (CLARIFIED if chosen else NOT_UNDERSTOOD, asked, chosen))
                asked = None
            last = text if text and not text.startswith("/") else None
        elif sender == "bot" and last is not None:
            mark = understanding_of(payload)
            if mark == CLARIFY_MARK:
                asked, last = last, None
            elif mark == FALLBACK_MARK:
                found.setdefault(last, (NOT_UNDERSTOOD, last, None))
                last = None
    if asked is not None:
        found.setdefault(asked, (NOT_UNDERSTOOD, asked, None))
    return list(found.values())


def note_transfer(
    session: Session, conversation_id: str, from_team: str, to_team: str, now: datetime
) -> None:
    """A chat moved from ``from_team`` to ``to_team``: the message the bot routed to ``from_team``."""
    messages = session.execute(
        select(SessionMessage.sender, SessionMessage.text, SessionMessage.payload)
        .where(SessionMessage.conversation_id == conversation_id)
        .order_by(SessionMessage.id)
    ).all()
    last: str | None = None
    for sender, text, payload in messages:
        if sender == "resident" and text and not text.startswith("/"):
            last = text
        elif sender == "bot" and last is not None and route_of(payload) == ("team", from_team):
            outcome = {"route": f"team:{from_team}", "handed_off": True, "transferred_to": to_team}
            _add(session, TRANSFERRED, last, None, outcome, to_team, conversation_id, now)
            return


def note_feedback(
    session: Session, conversation_id: str | None, comment: str | None, team_id: str, now: datetime
) -> None:
    """A feedback comment, for the team its conversation reached."""
    if comment and comment.strip():
        outcome = {"route": f"team:{team_id}" if team_id else None, "handed_off": None}
        _add(session, FEEDBACK, comment, None, outcome, team_id, conversation_id, now)


def waiting(session: Session, source: str | None = None, limit: int = SHOWN_ITEMS) -> list[ItemRow]:
    """Items waiting for review, newest first."""
    statement = select(LearningItem).where(LearningItem.status == NEW)
    if source is not None:
        statement = statement.where(LearningItem.source == source)
    rows = session.execute(statement.order_by(LearningItem.id.desc()).limit(limit)).scalars()
    return [
        ItemRow(row.id, row.source, row.text or "", row.suggested_intent, row.outcome, row.created_at)
        for row in rows
    ]


def grouped(items: Sequence[ItemRow], similarity: int = SIMILARITY) -> list[list[ItemRow]]:
    """Items in groups of similar wording, the largest group first (ties: the newest first)."""
    groups: list[tuple[str, list[ItemRow]]] = []
    for item in items:
        words = normalise(item.text)
        group = next((g for key, g in groups if fuzz.token_set_ratio(words, key) >= similarity), None)
        if group is None:
            groups.append((words, [item]))
        else:
            group.append(item)
    return sorted((g for _, g in groups), key=len, reverse=True)


def status_counts(session: Session) -> dict[str, int]:
    """How many items are in each status."""
    rows = session.execute(select(LearningItem.status, func.count()).group_by(LearningItem.status)).all()
    return {status: 0 for status in (NEW, APPROVED, REJECTED, EXPORTED)} | {s: n for s, n in rows}


def approve(
    session: Session,
    item_id: int,
    intent: str,
    example: str,
    editor: str,
    now: datetime,
    intents: Sequence[str],
) -> None:
    """Label an item with ``intent`` and the editor's generic ``example``; the resident's words go.

    Raises :class:`ExampleRefused` while the example holds personal data or a mask.
    """
    item = _waiting_item(session, item_id)
    example = " ".join(example.split())
    if intent not in intents:
        raise InvalidInput(f"unknown intent {intent!r}")
    if not example or len(example) > MAX_EXAMPLE_LENGTH:
        raise InvalidInput("the example is missing or too long")
    kinds = redactor().findings(example)
    if kinds:
        raise ExampleRefused(kinds)
    item.status, item.intent, item.example, item.text = APPROVED, intent, example, None
    item.reviewed_by, item.reviewed_at = editor, now
    audit.record(session, editor, "learning.approve", str(item_id), now, intent=intent)


def reject(session: Session, item_id: int, editor: str, now: datetime) -> None:
    """Mark an item not for the bot; the resident's words go."""
    item = _waiting_item(session, item_id)
    item.status, item.text, item.reviewed_by, item.reviewed_at = REJECTED, None, editor, now
    audit.record(session, editor, "learning.reject", str(item_id), now)


def export_training(session: Session, path: Path, now: datetime, nlu_dir: Path = NLU_DIR) -> int:
    """Add the approved examples not yet exported to ``path`` (Rasa NLU YAML), skipping those the
    training data already has; returns how many were added."""
    items = session.execute(select(LearningItem).where(LearningItem.status == APPROVED)).scalars().all()
    known = training_examples(nlu_dir)
    written = _file_examples(path) if path.exists() else {}
    added = 0
    for item in items:
        already = any(item.example in examples for examples in known.values())
        if not already:
            written.setdefault(item.intent, set()).add(item.example)
            added += 1
        item.status, item.exported_at = EXPORTED, now
    if added:
        path.write_text(EXPORT_HEADER + _nlu_yaml(written), encoding="utf-8")
    if items:
        audit.record(session, "system", "learning.export", None, now, examples=added)
    return added


def purge(session: Session, teams: Teams, now: datetime) -> int:
    """Delete items past their team's retention; returns how many.

    An approved example (the editor's words) waits for its export, but its
    link to the conversation goes at the same time. A team no longer in the
    catalogue keeps its items as long as a conversation routed nowhere.
    """
    shortest = min([teams.retention_days(team_id) for team_id in teams.ids] + [teams.retention.unrouted_days])
    rows = session.execute(
        select(LearningItem.id, LearningItem.team_id, LearningItem.status, LearningItem.created_at).where(
            LearningItem.created_at < now - timedelta(days=shortest),
            (LearningItem.status != APPROVED) | LearningItem.conversation_id.is_not(None),
        )
    ).all()
    expired = [
        (item_id, status)
        for item_id, team_id, status, created in rows
        if created < now - timedelta(days=teams.retention_days(team_id or None))
    ]
    unlinked = [item_id for item_id, status in expired if status == APPROVED]
    deleted = [item_id for item_id, status in expired if status != APPROVED]
    for chunk in _chunks(unlinked):
        session.execute(update(LearningItem).where(LearningItem.id.in_(chunk)).values(conversation_id=None))
    for chunk in _chunks(deleted):
        session.execute(delete(LearningItem).where(LearningItem.id.in_(chunk)))
    return len(deleted)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    return (ids[start : start + size] for start in range(0, len(ids), size))


def _add(
    session: Session,
    source: str,
    text: str,
    intent: str | None,
    outcome: Mapping[str, Any],
    team_id: str,
    conversation_id: str | None,
    now: datetime,
) -> None:
    session.add(
        LearningItem(
            source=source,
            text=redactor().redact(text),
            suggested_intent=intent,
            outcome=dict(outcome),
            team_id=team_id,
            conversation_id=conversation_id,
            status=NEW,
            created_at=now,
        )
    )


def _waiting_item(session: Session, item_id: int) -> LearningItem:
    item: LearningItem | None = session.get(LearningItem, item_id)
    if item is None or item.status != NEW:
        raise UnknownItem(f"no learning item {item_id} waiting for review")
    return item


def _chosen_intent(text: str | None) -> str | None:
    """The intent of a topic button's message (``/dental_care``), else ``None``."""
    if not text or not text.startswith("/"):
        return None
    name = text[1:].split("{", 1)[0].strip()
    return name if name.isidentifier() and name not in UNLABELLED_INTENTS else None


def _examples_of(block: str) -> list[str]:
    return [line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")]


def _file_examples(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        if "intent" in block:
            found.setdefault(block["intent"], set()).update(_examples_of(block.get("examples") or ""))
    return found


def _nlu_yaml(examples: Mapping[str, set[str]]) -> str:
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in sorted(examples[intent])]
    return "\n".join(lines) + "\n"
