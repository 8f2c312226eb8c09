"""Cross-checks of the editors' files against each other: ``make validate`` (``python -m opastin.validate``).

Each file is validated on its own when it is loaded (the team catalogue, the
route table, the emergency lexicon, the message catalogues). This module loads
them all and checks what no single file can: that every intent the route
table names exists in ``domain.yml``, that every page and form has its
response there, that no keyword names two teams, that every team can be
reached, and that every language's message catalogue has the same messages
with the same placeholders. Every problem names the file and the key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opastin import messages, places
from opastin.content import PROJECT_ROOT, ContentError, display_path, read_mapping
from opastin.routes import RouteTable, load_routes
from opastin.safety.lexicon import DEFAULT_LEXICON, EmergencyMatcher
from opastin.teams import Teams, load_teams

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
ANSWERS_FILE = PROJECT_ROOT / "data" / "nlu" / "answers.yml"
ANSWER_PREFIX = "utter_faq/"
# Responses the routing actions utter for every route of a kind (actions/routing.py).
ROUTE_RESPONSES = (
    "utter_route_team",
    "utter_route_child_symptom",
    "utter_route_omaolo_general",
    "utter_route_omaolo_symptom",
)


@dataclass
class Report:
    """Problems (the files cannot work together) and notes (worth a look, not wrong)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _domain_names(domain: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The intents and the response names of a parsed ``domain.yml``."""
    intents: set[str] = set()
    for entry in domain.get("intents") or []:
        intents.update(entry if isinstance(entry, dict) else [entry])
    return intents, set(domain.get("responses") or {})


def check_routes(routes: RouteTable, domain: dict[str, Any], routes_file: str, domain_file: str) -> list[str]:
    """The route table's intents, pages and forms against the domain's intents and responses."""
    intents, responses = _domain_names(domain)
    problems = [
        f"{routes_file}: intents.{intent}: no such intent in {domain_file}"
        for intent in routes.intents
        if intent not in intents
    ]
    wanted = {f"pages.{page}": f"utter_page_{page}" for page in routes.pages}
    wanted |= {
        f"intents.{intent}.target": f"utter_route_form_{route.target}"
        for intent, route in routes.intents.items()
        if route.type == "form"
    }
    problems += [
        f"{routes_file}: {key}: {domain_file} has no response '{response}'"
        for key, response in sorted(wanted.items())
        if response not in responses
    ]
    problems += [
        f"{domain_file}: responses: '{response}' is missing (the routing actions use it)"
        for response in ROUTE_RESPONSES
        if response not in responses
    ]
    return problems


def check_answers(
    routes: RouteTable, answers: dict[str, Any], routes_file: str, answers_file: str
) -> list[str]:
    """Every answer topic of the route table has its answer, and every answer its topic and examples."""
    names = answers.get("responses") or {}
    written = {name[len(ANSWER_PREFIX) :] for name in names if name.startswith(ANSWER_PREFIX)}
    taught = {
        str(block.get("intent"))[len("faq/") :]
        for block in answers.get("nlu") or []
        if str(block.get("intent", "")).startswith("faq/")
    }
    problems = [
        f"{routes_file}: answers.{topic}: {answers_file} has no response '{ANSWER_PREFIX}{topic}'"
        for topic in routes.answers
        if topic not in written
    ]
    problems += [
        f"{answers_file}: {ANSWER_PREFIX}{topic}: not listed under answers in {routes_file}"
        for topic in sorted(written - set(routes.answers))
    ]
    problems += [
        f"{answers_file}: {ANSWER_PREFIX}{topic}: no examples (intent faq/{topic})"
        for topic in sorted(written - taught)
    ]
    return problems


def check_teams(teams: Teams, routes: RouteTable, teams_file: str) -> Report:
    """Keywords that name two teams (a problem) and teams nothing leads to (a note)."""
    report = Report()
    owners: dict[str, str] = {}
    for team in teams:
        for keyword in team.keywords:
            other = owners.setdefault(keyword, team.id)
            if other != team.id:
                report.problems.append(
                    f"{teams_file}: teams.{team.id}.keywords: '{keyword}' also names team '{other}'"
                )
    reached = {route.target for route in routes.intents.values() if route.type == "team"}
    reached |= {*routes.general_teams, routes.omaolo.child_team}
    report.notes += [
        f"{teams_file}: teams.{team.id}: no intent in the route table leads to it "
        "(residents reach it only by naming it)"
        for team in teams
        if team.id not in reached
    ]
    return report


def validate(
    teams_file: Path | None = None,
    routes_file: Path | None = None,
    domain_file: Path = DOMAIN_FILE,
    answers_file: Path = ANSWERS_FILE,
    lexicon_file: Path | str = DEFAULT_LEXICON,
    messages_dir: Path | None = None,
) -> Report:
    """Load every editors' file and cross-check them; a file that does not load is one problem."""
    report = Report()
    teams_file = teams_file or places.teams_file()
    routes_file = routes_file or places.routes_file()
    try:
        teams = load_teams(teams_file)
        routes = load_routes(routes_file, teams)
        domain = read_mapping(domain_file)
        answers = read_mapping(answers_file)
    except ContentError as error:
        report.problems.append(str(error))
        return report
    report.problems += check_routes(routes, domain, display_path(routes_file), display_path(domain_file))
    report.problems += check_answers(routes, answers, display_path(routes_file), display_path(answers_file))
    team_report = check_teams(teams, routes, display_path(teams_file))
    report.problems += team_report.problems
    report.notes += team_report.notes
    try:
        EmergencyMatcher.from_file(lexicon_file, use_voikko=False)
    except ValueError as error:
        report.problems.append(str(error))
    report.problems += messages.check_catalogues(messages_dir or messages.MESSAGES_DIR)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Print every problem and note; exit 1 when there is a problem."""
    parser = argparse.ArgumentParser(description="Cross-check Opastin's content files")
    parser.add_argument("--teams", type=Path, help="team catalogue (default: the one in use)")
    parser.add_argument("--routes", type=Path, help="route table (default: the one in use)")
    args = parser.parse_args(argv)
    report = validate(args.teams, args.routes)
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.problems:
        print(f"{len(report.problems)} problem(s) in the content files", file=sys.stderr)
        return 1
    print("Content files agree: teams, routes, domain, lexicon and messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
