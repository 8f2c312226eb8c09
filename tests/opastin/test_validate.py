"""`make validate`: the editors' files are cross-checked, and each mistake names its file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from opastin.messages import MESSAGES_DIR
from opastin.places import DEFAULT_ROUTES_FILE, DEFAULT_TEAMS_FILE
from opastin.validate import DOMAIN_FILE, main, validate


def copy(tmp_path: Path, source: Path, change=None) -> Path:
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    if change is not None:
        change(document)
    target = tmp_path / source.name
    target.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_the_project_files_agree(capsys: pytest.CaptureFixture[str]) -> None:
    report = validate()
    assert report.problems == []
    assert main([]) == 0
    assert "Content files agree" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("routes_change", "domain_change", "expected"),
    [
        (
            lambda r: r["intents"].update(ask_parking={"type": "webpage", "target": "booking", "label": "x"}),
            None,
            "routes.yml: intents.ask_parking: no such intent in",
        ),
        (
            lambda r: r["pages"].update(parking={"url": "/pysakointi", "label": "Pysäköinti"}),
            None,
            "domain.yml has no response 'utter_page_parking'",
        ),
        (None, lambda d: d["responses"].pop("utter_route_team"), "responses: 'utter_route_team' is missing"),
    ],
)
def test_routes_and_domain_must_agree(tmp_path: Path, routes_change, domain_change, expected: str) -> None:
    routes = copy(tmp_path, DEFAULT_ROUTES_FILE, routes_change)
    domain = copy(tmp_path, DOMAIN_FILE, domain_change)
    report = validate(DEFAULT_TEAMS_FILE, routes, domain)
    assert any(expected in problem for problem in report.problems), report.problems


def test_a_keyword_may_name_one_team_only(tmp_path: Path) -> None:
    teams = copy(tmp_path, DEFAULT_TEAMS_FILE, lambda d: d["teams"]["katilot"]["keywords"].append("neuvol"))
    report = validate(teams, DEFAULT_ROUTES_FILE)
    assert "teams.yml: teams.katilot.keywords: 'neuvol' also names team 'neuvola'" in report.problems[0]


def test_a_team_nothing_leads_to_is_noted_not_refused(tmp_path: Path) -> None:
    def add(document: dict) -> None:
        document["teams"]["opiskelijat"] = {**document["teams"]["neuvola"], "keywords": ["opiskelijaterv"]}

    report = validate(copy(tmp_path, DEFAULT_TEAMS_FILE, add), DEFAULT_ROUTES_FILE)
    assert report.problems == []
    assert any("teams.opiskelijat: no intent in the route table leads to it" in note for note in report.notes)


def test_a_file_that_does_not_load_is_one_named_problem(tmp_path: Path) -> None:
    teams = copy(tmp_path, DEFAULT_TEAMS_FILE, lambda d: d["teams"]["neuvola"].pop("phone"))
    report = validate(teams, DEFAULT_ROUTES_FILE)
    assert report.problems == [f"{teams}: team 'neuvola', field 'phone': field required"]


def test_every_language_has_the_same_messages_and_placeholders(tmp_path: Path) -> None:
    shutil.copy(MESSAGES_DIR / "fi.yml", tmp_path / "fi.yml")
    swedish = yaml.safe_load((MESSAGES_DIR / "fi.yml").read_text(encoding="utf-8"))
    swedish["gateway"]["too_long"] = "Meddelandet är för långt: högst {gräns} tecken."
    del swedish["gateway"]["chat_ended"]
    swedish["gateway"]["extra"] = "?"
    (tmp_path / "sv.yml").write_text(yaml.safe_dump(swedish, allow_unicode=True), encoding="utf-8")
    problems = validate(messages_dir=tmp_path).problems
    assert any("sv.yml: gateway.chat_ended: missing (it is in fi.yml)" in p for p in problems)
    assert any("sv.yml: gateway.extra: not in fi.yml" in p for p in problems)
    differ = "sv.yml: gateway.too_long: placeholders ['gräns'] differ from ['limit']"
    assert any(differ in p for p in problems)
