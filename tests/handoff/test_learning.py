"""The learning queue, driven through the service's own functions: what is collected, masked, reviewed,
exported and purged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import select

from handoff import agents, learning, live, subject
from handoff.db import Database
from handoff.feedback import store_feedback
from handoff.gateway import sessions
from handoff.models import AuditEntry, LearningItem, ResidentSession
from handoff.queue import enqueue
from handoff.retention import Places, purge
from opastin.teams import Teams
from tests.handoff.conftest import FakeClock, add_agent

RESUME = timedelta(minutes=30)
HEALTH = "terveysneuvo"
INTENTS = ("dental_care", "prescription_renewal", "greet")


def clarify() -> dict[str, Any]:
    return {"understanding": "clarify"}


def not_understood() -> dict[str, Any]:
    return {"understanding": "fallback"}


def to_team(team: str) -> dict[str, Any]:
    return {"route": {"type": "team", "target": team}}


def conversation(db: Database, clock: FakeClock, *turns: tuple[str, dict[str, Any] | None]) -> str:
    """A resident's page greets the bot, then each turn: the resident writes, the bot answers."""
    with db.writing() as session:
        conversation_id = sessions.open_session(session, None, clock(), RESUME).conversation_id
    for text, custom in (("/greet", None), *turns):
        clock.advance(seconds=5)
        with db.writing() as session:
            sessions.take_resident_message(session, conversation_id, text, clock(), None)
            reply: dict[str, Any] = {"text": "Botti vastaa."}
            if custom is not None:
                reply["custom"] = custom
            sessions.record_uttered(session, conversation_id, reply, clock())
    return conversation_id


def end(db: Database, clock: FakeClock, conversation_id: str) -> None:
    with db.writing() as session:
        sessions.end_session(session, conversation_id, clock())


def items(db: Database) -> list[tuple[str, str | None, str | None, dict[str, Any], str]]:
    with db.reading() as session:
        rows = session.execute(select(LearningItem).order_by(LearningItem.id)).scalars()
        return [(r.source, r.text, r.suggested_intent, r.outcome, r.status) for r in rows]


def item_ids(db: Database) -> list[int]:
    with db.reading() as session:
        return list(session.execute(select(LearningItem.id).order_by(LearningItem.id)).scalars())


def test_what_the_bot_did_not_understand_is_collected_masked_when_the_conversation_ends(
    db: Database, clock: FakeClock
) -> None:
    conversation_id = conversation(
        db,
        clock,
        ("Soitin Mikolle 040 123 4567 hampaasta", clarify()),
        ("/dental_care", to_team("suun_terveys")),
        ("sit vielä se juttu Koulutiellä 5", clarify()),
        ("en osaa sanoa", not_understood()),
        ("kiitos", None),
    )
    assert items(db) == []  # nothing until the conversation is over
    end(db, clock, conversation_id)
    outcome = {"route": "team:suun_terveys", "handed_off": False}
    assert items(db) == [
        ("clarified", "Soitin [nimi] [numero] hampaasta", "dental_care", outcome, "new"),
        ("not_understood", "sit vielä se juttu [osoite]", None, outcome, "new"),
        ("not_understood", "en osaa sanoa", None, outcome, "new"),
    ]
    end(db, clock, conversation_id)  # ending it again, or its idle count, adds nothing
    assert len(items(db)) == 3


def test_misunderstood_reads_the_order_of_the_messages() -> None:
    messages = [
        ("resident", "/greet", None),
        ("bot", "Hei!", None),
        ("resident", "hampaat", None),
        ("bot", "Tarkoititko?", {"custom": clarify()}),
        ("resident", "ei mitään noista", None),  # answered, but not with a topic
        ("bot", "Kerro lisää", None),
        ("resident", "kuka", None),
        ("bot", "En ymmärtänyt", {"custom": clarify()}),
        ("resident", "/request_human", None),
        ("resident", "hammas", None),
        ("bot", "En ymmärtänyt", {"custom": not_understood()}),
        ("resident", "hammas", None),
        ("bot", "En ymmärtänyt", {"custom": not_understood()}),  # the same words once
        ("resident", "viimeinen", None),
        ("bot", "Tarkoititko?", {"custom": clarify()}),  # the page was closed: never answered
    ]
    assert learning.misunderstood(messages) == [
        ("not_understood", "hampaat", None),
        ("clarified", "kuka", "request_human"),
        ("not_understood", "hammas", None),
        ("not_understood", "viimeinen", None),
    ]


def test_a_transfer_and_a_feedback_comment_are_collected(
    db: Database, teams: Teams, clock: FakeClock
) -> None:
    add_agent(db, "maija", [HEALTH])
    add_agent(db, "pekka", ["neuvola"])
    conversation_id = conversation(db, clock, ("lapsen kasvu huolettaa, Pekka 3v", to_team(HEALTH)))
    with db.writing() as session:
        enqueue(session, teams.get(HEALTH), conversation_id, "Lapsen kasvu", [], clock())
        live.accept(session, teams, agents.get_agent(session, "maija"), HEALTH, conversation_id, clock())
        live.propose_transfer(
            session, teams, agents.get_agent(session, "maija"), conversation_id, "neuvola", clock()
        )
    with db.writing() as session:
        live.answer_transfer(session, teams, conversation_id, True, clock())
        store_feedback(
            session, rating=4, comment="Kiitos Maijalle avusta!", conversation_id=conversation_id, now=clock()
        )
        store_feedback(session, rating=5, comment=None, conversation_id=conversation_id, now=clock())
    transferred = {"route": f"team:{HEALTH}", "handed_off": True, "transferred_to": "neuvola"}
    assert items(db) == [
        ("transferred", "lapsen kasvu huolettaa, [nimi] 3v", None, transferred, "new"),
        ("feedback", "Kiitos [nimi] avusta!", None, {"route": "team:neuvola", "handed_off": None}, "new"),
    ]


def test_an_editor_approves_a_generic_example_and_the_residents_words_go(
    db: Database, clock: FakeClock
) -> None:
    end(db, clock, conversation(db, clock, ("hammas kolottaa, Mikko 040 123 4567", clarify())))
    (item_id,) = item_ids(db)
    with db.writing() as session:
        with pytest.raises(learning.ExampleRefused) as refused:
            learning.approve(
                session, item_id, "dental_care", "Mikko: hammas kolottaa", "ella", clock(), INTENTS
            )
        assert refused.value.kinds == ("name",)
        with pytest.raises(learning.ExampleRefused) as refused:
            example = "hammas kolottaa, [nimi] [numero]"
            learning.approve(session, item_id, "dental_care", example, "ella", clock(), INTENTS)
        assert refused.value.kinds == ("mask",)
        with pytest.raises(learning.InvalidInput):
            learning.approve(session, item_id, "no_such_intent", "hammas kolottaa", "ella", clock(), INTENTS)
    with db.writing() as session:
        learning.approve(session, item_id, "dental_care", "  hammas\n kolottaa ", "ella", clock(), INTENTS)
    with db.reading() as session:
        row = session.get(LearningItem, item_id)
        assert (row.status, row.text, row.intent, row.example, row.reviewed_by) == (
            "approved",
            None,
            "dental_care",
            "hammas kolottaa",
            "ella",
        )
        actions = session.execute(select(AuditEntry.actor, AuditEntry.action)).all()
    assert ("ella", "learning.approve") in [tuple(a) for a in actions]
    with db.writing() as session, pytest.raises(learning.UnknownItem):
        learning.reject(session, item_id, "ella", clock())  # reviewed once


def test_not_for_the_bot_drops_the_words(db: Database, clock: FakeClock) -> None:
    end(db, clock, conversation(db, clock, ("asdfgh", not_understood())))
    (item_id,) = item_ids(db)
    with db.writing() as session:
        learning.reject(session, item_id, "ella", clock())
    assert items(db) == [("not_understood", None, None, {"route": None, "handed_off": False}, "rejected")]


def test_the_export_writes_only_approved_new_examples_as_rasa_nlu(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    end(
        db,
        clock,
        conversation(db, clock, ("a", clarify()), ("b", clarify()), ("c", clarify()), ("d", clarify())),
    )
    first, second, third, fourth = item_ids(db)
    known = next(  # a trained example the redactor lets through ("ulla" reads as a name)
        example
        for example in sorted(learning.training_examples()["dental_care"])
        if not learning.redactor().findings(example)
    )
    with db.writing() as session:
        learning.approve(
            session, first, "dental_care", "hammasta särkee kovasti yöllä", "ella", clock(), INTENTS
        )
        learning.approve(session, second, "dental_care", known, "ella", clock(), INTENTS)  # already trained
        learning.approve(
            session, third, "prescription_renewal", "lääkkeet loppuu pian", "ella", clock(), INTENTS
        )
        learning.reject(session, fourth, "ella", clock())
    out = tmp_path / "learned.yml"
    out.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - moikka moi\n', encoding="utf-8"
    )
    with db.writing() as session:
        assert learning.export_training(session, out, clock()) == 2
    training = RasaYAMLReader().reads(out.read_text(encoding="utf-8"))
    examples = {(m.get("intent"), m.get("text")) for m in training.intent_examples}
    assert examples == {
        ("greet", "moikka moi"),  # what the file had stays
        ("dental_care", "hammasta särkee kovasti yöllä"),
        ("prescription_renewal", "lääkkeet loppuu pian"),
    }
    assert "residents' own words" in out.read_text(encoding="utf-8")
    with db.writing() as session:
        assert learning.export_training(session, out, clock()) == 0  # each once
    assert [status for *_, status in items(db)] == ["exported", "exported", "exported", "rejected"]


def test_unreviewed_items_go_with_their_conversations_retention(
    db: Database, teams: Teams, clock: FakeClock, tmp_path: Path
) -> None:
    end(db, clock, conversation(db, clock, ("jotain outoa", clarify()), ("toista outoa", clarify())))
    waiting, approved = item_ids(db)
    with db.writing() as session:
        learning.approve(session, approved, "greet", "hei vaan", "ella", clock(), INTENTS)
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    days = teams.retention.unrouted_days
    assert purge(db, teams, places, clock() + timedelta(days=days - 1)).removed["learning_items"] == 0
    assert purge(db, teams, places, clock() + timedelta(days=days + 1)).removed["learning_items"] == 1
    assert item_ids(db) == [approved]  # an approved example (the editor's words) waits for its export
    assert waiting not in item_ids(db)
    with db.reading() as session:
        assert session.get(LearningItem, approved).conversation_id is None  # but not its conversation


def test_similar_messages_are_grouped_largest_first() -> None:
    def row(item_id: int, text: str) -> learning.ItemRow:
        return learning.ItemRow(item_id, "not_understood", text, None, {}, None)  # type: ignore[arg-type]

    groups = learning.grouped(
        [
            row(1, "hammas kolottaa"),
            row(2, "Lapsen kuume"),
            row(3, "hammas kolottaa kovasti"),
            row(4, "HAMMAS KOLOTTAA!"),
        ]
    )
    assert [[item.id for item in group] for group in groups] == [[1, 3, 4], [2]]


def test_a_data_subject_request_exports_and_erases_the_items_too(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    conversation_id = conversation(db, clock, ("mikä tää juttu on", clarify()))
    end(db, clock, conversation_id)
    with db.reading() as session:
        reference = session.get(ResidentSession, conversation_id).reference
    places = Places(None, tmp_path / "outbox", tmp_path / "log")
    exported = subject.export(db, places, reference, "rekisteri", clock())
    assert [item["text"] for item in exported["learning_items"]] == ["mikä tää juttu on"]
    assert subject.erase(db, places, reference, "rekisteri", clock())["learning_items"] == 1
    assert item_ids(db) == []
