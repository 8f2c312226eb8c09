"""The whole product in real processes for end-to-end tests: Rasa, actions and the handoff service.

One Rasa server serves the whole session (``rasa`` in ``conftest.py``: it takes
most of a minute to start). :func:`running_stack` starts, per test module, the
handoff service and an action server that talks to it, on free ports, with
every team open on every day and the given agents; it yields the URLs, the
database URL and the agents' passwords, and stops both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from devtools.stack import Rasa, action_server, always_open_teams, create_agents, handoff_cli, handoff_server
from handoff.gateway.sessions import hash_secret
from opastin.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-service-token-0123456789"


@contextmanager
def running_stack(
    rasa: Rasa,
    tmp: Path,
    agents: Mapping[str, str],
    write_teams: Callable[[Path], None] = always_open_teams,
) -> Iterator[dict[str, str]]:
    """The service and an action server of its own behind the session's Rasa, with ``agents``.

    ``agents`` maps usernames to teams; ``write_teams`` writes the team catalogue.
    Yields ``url``, ``database``, ``rasa`` (the Rasa URL), ``service_pid`` and each
    agent's password. Each test module gets a database of its own; only Rasa (slow
    to start) is shared.
    """
    teams_file = tmp / "teams.yml"
    write_teams(teams_file)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'handoff.db'}",
        "HANDOFF_TEAMS_FILE": str(teams_file),
        "HANDOFF_VAR_DIR": str(tmp),
        "HANDOFF_API_TOKEN": TOKEN,
        "RASA_URL": rasa.url,
    }
    handoff_cli(env, "migrate")
    passwords = create_agents(env["DATABASE_URL"], agents)
    # The action server asks this service for team status and creates handoffs and contact requests.
    actions_env = {**env, "HANDOFF_URL": url, "OPASTIN_OUTBOX_DIR": str(tmp / "outbox")}
    with (
        (tmp / "handoff.log").open("wb") as log,
        handoff_server(env, port, log) as (_, server),
        action_server(rasa, actions_env),
    ):
        yield {
            "url": url,
            "database": env["DATABASE_URL"],
            "rasa": rasa.url,
            "service_pid": str(server.pid),
            **passwords,
        }


def query_one(database_url: str, sql: str, **params: object) -> tuple:
    """One row of ``sql`` from the service's database."""
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(sql), params).one())
    finally:
        engine.dispose()


def wait_for_row(database_url: str, sql: str, timeout_s: float = 10.0, **params: object) -> tuple:
    """The one row of ``sql`` once the service has written it (the page may show a reply first)."""
    deadline = time.monotonic() + timeout_s
    while True:
        engine = create_engine(database_url, future=True)
        try:
            with engine.connect() as connection:
                row = connection.execute(text(sql), params).one_or_none()
        finally:
            engine.dispose()
        if row is not None or time.monotonic() > deadline:
            assert row is not None, f"no row after {timeout_s} s: {sql}"
            return tuple(row)
        time.sleep(0.1)


def conversation_id_of(database_url: str, secret: str) -> str:
    """The server-side conversation id of a resident session (the resident never learns it)."""
    sql = "SELECT conversation_id FROM resident_sessions WHERE secret_hash = :hash"
    return query_one(database_url, sql, hash=hash_secret(secret))[0]
