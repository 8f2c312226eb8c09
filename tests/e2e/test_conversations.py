"""Whole conversations replayed against the real stack at five clock times (devtools.conversations).

The project's own conversations (tests/conversations/) must go as written: the
form with corrections, follow-ups that stay with the need, answers, honest
offers of a person, the rating asked once. Over every conversation set, the
blind ones included, no bot reply repeats one of its previous turn and no
offer names a team whose chat is closed at that moment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.conversations import ConversationResult, describe, run_sets
from devtools.stack import Rasa

pytestmark = [pytest.mark.e2e, pytest.mark.conversations]

ROOT = Path(__file__).resolve().parents[2]
OWN = sorted((ROOT / "tests" / "conversations").glob("*.yml"))
BLIND = sorted((ROOT / "tests" / "heldout" / "conversations").glob("set_*.yml"))
# The blind sets are checked for the invariants alone, three conversations at a time; the own set
# first and one by one, as it must go as written.
WORKERS = 3


@pytest.fixture(scope="module")
def results(rasa: Rasa, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, list[ConversationResult]]:
    return run_sets(
        rasa, [*OWN, *BLIND], tmp_path_factory.mktemp("conversations"), workers=WORKERS, alone=OWN
    )


def _misses(found: list[ConversationResult]) -> list[str]:
    return [
        f"{result.conversation.id}: {turn.user!r} expected {dict(turn.expect)}, got {describe(turn.observed)}"
        for result in found
        for turn in result.turns
        if not turn.right
    ]


def test_the_projects_own_conversations_go_as_written(results):
    assert [miss for path in OWN for miss in _misses(results[path])] == []


def test_no_reply_repeats_the_previous_turn_in_any_conversation(results):
    repeats = [
        f"{result.conversation.id}: {turn.user!r} -> {turn.repeated}"
        for found in results.values()
        for result in found
        for turn in result.turns
        if turn.repeated
    ]
    assert repeats == []


def test_no_offer_names_a_closed_team_in_any_conversation(results):
    closed = [
        f"{result.conversation.id} ({result.conversation.clock}): {turn.user!r} -> {turn.closed_offers}"
        for found in results.values()
        for result in found
        for turn in result.turns
        if turn.closed_offers
    ]
    assert closed == []
