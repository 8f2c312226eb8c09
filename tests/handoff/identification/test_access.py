"""The one access rule for a resident's identity (handoff/identification/access.py)."""

from __future__ import annotations

import pytest

from handoff.errors import InvalidInput
from handoff.identification.access import access_of, checked_reason

HOLDER, COLLEAGUE = 1, 2


def test_the_agent_holding_the_live_chat_sees_the_name_and_opens_the_code_without_a_reason() -> None:
    rule = access_of("active", HOLDER, HOLDER)
    assert rule.sees_name and not rule.needs_reason
    assert checked_reason(rule, None) is None


@pytest.mark.parametrize(
    ("status", "holder", "viewer"),
    [
        ("active", HOLDER, COLLEAGUE),  # a colleague of the team while someone else holds it
        ("queued", None, COLLEAGUE),  # the team, while the resident waits in the queue
        ("closed", HOLDER, HOLDER),  # the former holder, once the chat has ended
        ("closed", HOLDER, COLLEAGUE),  # a search of ended chats
    ],
)
def test_everyone_else_sees_the_mark_only_and_opens_the_code_with_a_reason(
    status: str, holder: int | None, viewer: int
) -> None:
    rule = access_of(status, holder, viewer)
    assert not rule.sees_name and rule.needs_reason
    with pytest.raises(InvalidInput):
        checked_reason(rule, None)
    with pytest.raises(InvalidInput):
        checked_reason(rule, "   katson  ")  # too short once trimmed
    with pytest.raises(InvalidInput):
        checked_reason(rule, "x" * 301)
    assert checked_reason(rule, "  Asiakkaan  soittopyyntö,\n tarkistan tiedot ") == (
        "Asiakkaan soittopyyntö, tarkistan tiedot"
    )


def test_a_consultant_sees_the_name_and_never_opens_the_code() -> None:
    rule = access_of("active", HOLDER, COLLEAGUE, consultant=True)
    assert rule.sees_name and not rule.holds and not rule.opens_code and not rule.needs_reason
    assert access_of("active", HOLDER, HOLDER, consultant=True).holds  # holding wins


def test_a_participant_of_the_residents_chat_opens_the_code_as_the_holder_does() -> None:
    rule = access_of("active", HOLDER, COLLEAGUE, consultant=True, participant=True)
    assert rule.basis == "participant"
    assert rule.sees_name and rule.opens_code and not rule.needs_reason
    assert not rule.holds  # asking for identification and assessing maturity stay the holder's
    ended = access_of("closed", HOLDER, COLLEAGUE, consultant=True, participant=True)
    assert ended.basis != "participant" and not ended.opens_code  # only while the chat is live
