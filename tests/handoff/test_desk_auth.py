"""The desk's session lookup on every request (handoff/desk/auth.py ``load_user``): one statement
for the session, its account and the account's teams."""

from __future__ import annotations

from handoff.db import Database
from handoff.desk.auth import SESSION_LIFETIME, load_user, start_session, token_hash
from handoff.models import Agent
from tests.handoff.conftest import TUESDAY_NOON, add_agent


def _token(db: Database, username: str) -> str:
    with db.writing() as session:
        agent = session.query(Agent).filter_by(username=username).one()
        return start_session(session, agent, TUESDAY_NOON)


def test_a_valid_session_gives_the_account_and_its_teams(db: Database) -> None:
    add_agent(db, "maija", ["terveysneuvo", "neuvola"])
    token = _token(db, "maija")
    with db.reading() as session:
        user = load_user(session, token, TUESDAY_NOON)
    assert user is not None
    assert (user.username, user.display_name, user.teams, user.role) == (
        "maija",
        "maija",
        ("neuvola", "terveysneuvo"),
        "agent",
    )
    assert user.session_hash == token_hash(token) and len(user.csrf_token) >= 32


def test_an_account_without_teams_has_none(db: Database) -> None:
    add_agent(db, "esihenkilo", [])
    token = _token(db, "esihenkilo")
    with db.reading() as session:
        user = load_user(session, token, TUESDAY_NOON)
    assert user is not None and user.teams == ()


def test_expired_unknown_oversized_and_locked_sessions_give_nobody(db: Database) -> None:
    add_agent(db, "maija", ["neuvola"])
    token = _token(db, "maija")
    with db.reading() as session:
        assert load_user(session, token, TUESDAY_NOON + SESSION_LIFETIME) is None
        assert load_user(session, "x" * 43, TUESDAY_NOON) is None
        assert load_user(session, "x" * 129, TUESDAY_NOON) is None
        assert load_user(session, None, TUESDAY_NOON) is None
    with db.writing() as session:
        session.query(Agent).filter_by(username="maija").one().active = False
    with db.reading() as session:
        assert load_user(session, token, TUESDAY_NOON) is None
