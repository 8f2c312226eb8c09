"""teams.yml: the real file is valid, mistakes name the file, team and field."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from handoff.hours import DayHours, hours_on
from handoff.settings import DEFAULT_TEAMS_FILE, Settings
from handoff.teams import TEAM_IDS, TeamsConfigError, load_teams


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def document() -> dict:
    return yaml.safe_load(DEFAULT_TEAMS_FILE.read_text(encoding="utf-8"))


def problems(tmp_path: Path, document: dict) -> str:
    with pytest.raises(TeamsConfigError) as error:
        load_teams(write(tmp_path, document))
    return str(error.value)


def test_the_real_file_is_valid_and_complete() -> None:
    teams = load_teams(DEFAULT_TEAMS_FILE)
    assert [team.id for team in teams] == list(TEAM_IDS)
    neuvola = teams.get("neuvola")
    assert neuvola is not None and neuvola.identification == "required"
    assert teams.get("suun_terveydenhuolto").identification == "required"
    for anonymous in ("tyoikaisten_sosiaalityo", "mielenterveys_paihde", "fysioterapia", "perhekeskus"):
        assert teams.get(anonymous).identification == "optional"
    assert all(team.web_url.startswith("https://") for team in teams)


def test_default_hours_follow_the_design() -> None:
    teams = load_teams(DEFAULT_TEAMS_FILE)
    monday, tuesday = date(2026, 3, 9), date(2026, 3, 10)
    assert str(hours_on(teams.get("palveluneuvo").schedule, monday)) == "08:00-15:00"
    assert str(hours_on(teams.get("neuvola").schedule, monday)) == "12:00-14:00"
    assert str(hours_on(teams.get("katilot").schedule, monday)) == "12:00-14:00"
    assert hours_on(teams.get("katilot").schedule, tuesday) is None
    assert str(hours_on(teams.get("tyoikaisten_sosiaalityo").schedule, monday)) == "09:00-15:00"


def test_a_range_with_hours_keeps_weekends_and_holidays_closed() -> None:
    schedule = load_teams(DEFAULT_TEAMS_FILE).get("palveluneuvo").schedule
    assert hours_on(schedule, date(2027, 7, 6)) == DayHours.parse("09:00-13:00")
    assert hours_on(schedule, date(2027, 7, 10)) is None  # Saturday
    assert hours_on(schedule, date(2026, 12, 31)) == DayHours.parse("08:00-12:00")


def test_bad_hours_name_file_team_and_field(tmp_path: Path, document: dict) -> None:
    document["teams"]["neuvola"]["hours"]["mon"] = "12-14"
    message = problems(tmp_path, document)
    assert "teams.yml: team 'neuvola', field 'hours.mon':" in message
    assert "HH:MM-HH:MM" in message


def test_every_problem_is_listed(tmp_path: Path, document: dict) -> None:
    document["teams"]["neuvola"]["max_chats_per_agent"] = 0
    document["teams"]["katilot"]["phone"] = "call us"
    document["teams"]["fysioterapia"]["identification"] = "maybe"
    message = problems(tmp_path, document)
    assert "team 'neuvola', field 'max_chats_per_agent'" in message
    assert "team 'katilot', field 'phone'" in message
    assert "team 'fysioterapia', field 'identification'" in message


def test_unknown_and_missing_teams_are_errors(tmp_path: Path, document: dict) -> None:
    document["teams"]["hammaslaakari"] = document["teams"].pop("suun_terveydenhuolto")
    message = problems(tmp_path, document)
    assert "unknown team id 'hammaslaakari'" in message
    assert "team 'suun_terveydenhuolto' is missing" in message


def test_unknown_field_is_an_error(tmp_path: Path, document: dict) -> None:
    document["teams"]["neuvola"]["hours"]["mom"] = "12:00-14:00"
    assert "field 'hours.mom': extra fields not permitted" in problems(tmp_path, document)


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        ({"date": "2026-12-31", "closed": True, "hours": "08:00-12:00"}, "either 'closed: true' or 'hours'"),
        ({"date": "2026-12-31"}, "either 'closed: true' or 'hours'"),
        ({"from": "2027-07-10", "to": "2027-07-01", "closed": True}, "'to' is before 'from'"),
        ({"from": "2027-07-01", "closed": True}, "both 'from' and 'to'"),
        ({"date": "2026-12-31", "hours": "8-12"}, "field 'exceptions.0.hours'"),
    ],
)
def test_bad_exceptions(tmp_path: Path, document: dict, exception: dict, expected: str) -> None:
    document["teams"]["terveysneuvo"]["exceptions"] = [exception]
    message = problems(tmp_path, document)
    assert "team 'terveysneuvo'" in message
    assert expected in message


def test_overlapping_exceptions(tmp_path: Path, document: dict) -> None:
    document["teams"]["terveysneuvo"]["exceptions"] = [
        {"from": "2027-07-01", "to": "2027-07-31", "closed": True},
        {"date": "2027-07-15", "hours": "08:00-12:00"},
    ]
    assert "2027-07-15 is covered by more than one exception" in problems(tmp_path, document)


def test_organisation_is_validated(tmp_path: Path, document: dict) -> None:
    document["organisation"]["web_base_url"] = "http://insecure.example"
    assert "organisation, field 'web_base_url'" in problems(tmp_path, document)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(TeamsConfigError, match="cannot read"):
        load_teams(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("teams: [unclosed", encoding="utf-8")
    with pytest.raises(TeamsConfigError, match="not valid YAML"):
        load_teams(broken)


def test_path_comes_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"HANDOFF_TEAMS_FILE": str(tmp_path / "t.yml"), "HANDOFF_VAR_DIR": str(tmp_path)}
    )
    assert settings.teams_file == tmp_path / "t.yml"
