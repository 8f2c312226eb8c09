"""The command line, and the real server started with ``python -m handoff serve``."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from handoff import counting
from handoff.cli import main
from handoff.db import Database
from handoff.settings import PROJECT_ROOT
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.processes import free_port, wait_until_answering
from opastin.teams import load_teams
from tests.handoff.conftest import TUESDAY_NOON as NOW

TEAM_IDS = load_teams(DEFAULT_TEAMS_FILE).ids


@pytest.fixture
def env(tmp_path: Path, teams_file: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "HANDOFF_VAR_DIR": str(tmp_path / "var"),
        "HANDOFF_TEAMS_FILE": str(teams_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'handoff.db'}",
    }
    monkeypatch.delenv("HANDOFF_API_TOKEN", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def test_bootstrap_creates_the_first_admin_once(
    env: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["bootstrap"]) == 0
    first = capsys.readouterr().out
    assert "Created the first admin account" in first
    password = next(line.split(":", 1)[1].strip() for line in first.splitlines() if "password" in line)
    assert len(password) >= 20
    assert (tmp_path / "var" / "handoff-api-token").exists()
    assert main(["bootstrap"]) == 0
    second = capsys.readouterr().out
    assert "password" not in second.lower() and password not in second
    database = Database(env["DATABASE_URL"])
    try:
        from handoff import agents

        with database.writing() as session:
            assert agents.authenticate(session, "admin", password).role == "admin"
    finally:
        database.dispose()


def test_create_agent_and_list_teams(env: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["migrate"]) == 0
    assert (
        main(["create-agent", "maija", "--team", "neuvola", "--team", "katilot", "--generate-password"]) == 0
    )
    out = capsys.readouterr().out
    assert "Created agent 'maija'" in out and "shown only once" in out
    assert main(["create-agent", "maija", "--team", "neuvola", "--generate-password"]) == 2
    assert "taken" in capsys.readouterr().err
    assert main(["create-admin", "paakayttaja", "--generate-password"]) == 0
    capsys.readouterr()
    assert main(["teams"]) == 0
    listing = capsys.readouterr().out
    assert all(team_id in listing for team_id in TEAM_IDS)


def test_invalid_teams_file_stops_the_command(
    env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    document = yaml.safe_load(Path(env["HANDOFF_TEAMS_FILE"]).read_text(encoding="utf-8"))
    document["teams"]["neuvola"]["hours"]["mon"] = "12-14"
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(broken))
    assert main(["teams"]) == 2
    assert "team 'neuvola', field 'hours.mon'" in capsys.readouterr().err


def test_an_invalid_setting_stops_the_command_with_its_name(
    env: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("HANDOFF_FRAME_ANCESTORS", "https://kunta.fi/sivu")
    assert main(["teams"]) == 2
    assert capsys.readouterr().err.startswith("error: HANDOFF_FRAME_ANCESTORS")


def test_unmigrated_database_is_explained(env: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["teams"]) == 2
    assert "python -m handoff migrate" in capsys.readouterr().err


def test_real_server(env: dict) -> None:
    port = free_port()
    environment = {**os.environ, **env, "HANDOFF_API_TOKEN": "subprocess-token"}
    subprocess.run(
        [sys.executable, "-m", "handoff", "migrate"], env=environment, cwd=PROJECT_ROOT, check=True
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "handoff", "serve", "--port", str(port), "--log-level", "warning"],
        env=environment,
        cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/healthz", [server], timeout_s=20)
        teams = httpx.get(f"{base}/api/public/teams").json()
        assert [team["id"] for team in teams] == list(TEAM_IDS)

        def chunks():
            for _ in range(100):
                yield b"x" * 1024

        headers = {"Authorization": "Bearer subprocess-token", "Content-Type": "application/json"}
        chunked = httpx.post(f"{base}/api/service/feedback", content=chunks(), headers=headers)
        assert chunked.status_code == 413
        stored = httpx.post(f"{base}/api/service/feedback", json={"rating": 4}, headers=headers)
        assert stored.status_code == 201
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_account_commands_reset_lock_and_move_an_agent(
    db: Database, database_url: str, teams_file: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from handoff import agents, cli
    from handoff.models import AgentSession

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HANDOFF_TEAMS_FILE", str(teams_file))
    with db.writing() as session:
        maija = agents.create_agent(session, "maija", "correct horse battery", NOW, team_ids=["neuvola"])
        session.add(
            AgentSession(
                token_hash="h" * 64,
                agent_id=maija.id,
                csrf_token="c",
                created_at=NOW,
                expires_at=NOW + timedelta(hours=1),
            )
        )
    assert cli.main(["set-password", "maija", "--generate-password"]) == 0
    password = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert cli.main(["set-teams", "maija", "--team", "katilot", "--team", "neuvola"]) == 0
    assert cli.main(["deactivate", "maija"]) == 0
    with db.reading() as session:
        agent = agents.get_agent(session, "maija")
        assert agent.must_change_password and not agent.active
        assert sorted(m.team_id for m in agent.memberships) == ["katilot", "neuvola"]
        assert session.query(AgentSession).count() == 0  # every session ended
        assert agents.authenticate(session, "maija", password) is None  # locked
    assert cli.main(["activate", "maija"]) == 0
    with db.reading() as session:
        assert agents.authenticate(session, "maija", password) is not None
    assert cli.main(["deactivate", "nobody"]) == 2


def test_stats_prints_a_period_per_team_and_in_total(env: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["migrate"]) == 0
    database = Database(env["DATABASE_URL"])
    january, february = datetime(2026, 1, 20, 12, tzinfo=UTC), datetime(2026, 2, 1, 12, tzinfo=UTC)
    try:
        with database.writing() as session:
            for moment, team, metric, label, times in (
                (january, "neuvola", "conversations", "", 12),
                (january, "neuvola", "handed_off", "", 6),
                (january, "neuvola", "wait_accepted", "300", 6),
                (january, "neuvola", "feedback", "4", 5),
                (january, "", "conversations", "", 3),
                (january, "", "route", "omaolo:https://www.omaolo.fi/", 3),
                (february, "neuvola", "conversations", "", 50),  # outside the period
            ):
                for _ in range(times):
                    counting.add(session, moment, team, metric, label)
    finally:
        database.dispose()
    period = ["stats", "--from", "2026-01-01", "--to", "2026-01-31"]
    capsys.readouterr()

    assert main([*period, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    neuvola, no_team = report["teams"]
    assert (neuvola["team"], neuvola["conversations"], neuvola["handover_rate"]) == ("neuvola", 12, 0.5)
    assert neuvola["queue_wait"]["abandoned"] == "< 5" and neuvola["queue_wait"]["abandoned_p50"] is None
    assert neuvola["queue_wait"]["p90"] == {"from_s": 300, "to_s": 600}
    assert neuvola["feedback"]["mean"] == 4.0
    assert no_team["team"] == "(no team)"
    assert no_team["top_routes"] == {"omaolo:https://www.omaolo.fi/": "< 5"}
    assert report["total"]["conversations"] == 15

    assert main([*period, "--team", "neuvola"]) == 0
    lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert lines[0] == ["team", "measure", "value"]
    values = {(team, measure): value for team, measure, value in lines[1:]}
    assert values[("neuvola", "conversations")] == "12" and values[("neuvola", "queue_wait.p50")] == "300-600"
    assert values[("(total)", "conversations")] == "12" and ("(no team)", "conversations") not in values

    assert main(["stats", "--from", "2026-02-01", "--to", "2026-01-01"]) == 2
    assert "--from is after --to" in capsys.readouterr().err
