"""teams.yml: the real file is valid, mistakes name the file, team and field."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from opastin import places
from opastin.hours import DayHours, hours_on
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.teams import TeamsConfigError, load_teams

TEAM_IDS = load_teams(DEFAULT_TEAMS_FILE).ids


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
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
    assert len(teams.ids) == 10
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


@pytest.mark.parametrize("team_id", ["Hammas", "9team", "x", "päivystys", "team-1", "a" * 41])
def test_a_team_id_must_be_a_plain_identifier(tmp_path: Path, document: dict, team_id: str) -> None:
    document["teams"][team_id] = document["teams"]["neuvola"]
    assert f"team id {team_id!r}: use 2-40 of a-z, 0-9 and _" in problems(tmp_path, document)


def test_a_county_adds_a_team_in_the_file_alone(tmp_path: Path, document: dict) -> None:
    document["teams"]["paivystysapu"] = {
        **document["teams"]["terveysneuvo"],
        "name": "Päivystysapu",
        "chat": "Päivystysavun chat",
        "keywords": ["paivystysapu", "116117"],
        "hours": {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    }
    teams = load_teams(write(tmp_path, document))
    assert teams.ids[-1] == "paivystysapu" and len(teams) == len(TEAM_IDS) + 1
    added = teams.get("paivystysapu")
    assert added is not None and added.keywords == ("paivystysapu", "116117")
    assert added.hours_text == "ma–su klo 0–24"


def test_teams_need_their_chat_name_and_keywords(tmp_path: Path, document: dict) -> None:
    del document["teams"]["neuvola"]["chat"]
    document["teams"]["katilot"]["keywords"] = []
    document["teams"]["fysioterapia"]["keywords"] = ["!!"]
    message = problems(tmp_path, document)
    assert "team 'neuvola', field 'chat': field required" in message
    assert "team 'katilot', field 'keywords'" in message
    assert "team 'fysioterapia', field 'keywords.0': a keyword needs letters" in message


def test_hours_are_told_as_residents_read_them() -> None:
    teams = load_teams(DEFAULT_TEAMS_FILE)
    assert teams.get("palveluneuvo").hours_text == "ma–pe klo 8–15"
    assert teams.get("katilot").hours_text == "ma ja to klo 12–14"
    assert teams.get("tyoikaisten_sosiaalityo").hours_text == "ma–pe klo 9–15"


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
    assert places.teams_file({"HANDOFF_TEAMS_FILE": str(tmp_path / "t.yml")}) == tmp_path / "t.yml"
    assert places.teams_file({}) == DEFAULT_TEAMS_FILE


def test_canned_answers_are_short_and_have_no_placeholders(tmp_path: Path, document: dict) -> None:
    neuvola = load_teams(DEFAULT_TEAMS_FILE).get("neuvola")
    assert neuvola is not None and neuvola.canned_answers[0][0] == "Tervehdys"
    document["teams"]["neuvola"]["canned_answers"] = [
        {"title": "Nimellä", "text": "Hei {etunimi}!"},
        {"title": "x" * 61, "text": "Hei"},
        {"title": "Tyhjä", "text": ""},
    ]
    message = problems(tmp_path, document)
    assert "field 'canned_answers.0.text': no {placeholders}" in message
    assert "field 'canned_answers.1.title'" in message and "field 'canned_answers.2.text'" in message
