"""data/routes.yml is validated, and every mistake names the file and the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from opastin.places import DEFAULT_ROUTES_FILE as ROUTES_FILE
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.routes import RoutesConfigError, load_routes, normalise, parse_routes
from opastin.teams import load_teams

RAW = yaml.safe_load(ROUTES_FILE.read_text(encoding="utf-8"))
CATALOGUE = load_teams(DEFAULT_TEAMS_FILE)


def broken(change) -> dict:
    raw = copy.deepcopy(RAW)
    change(raw)
    return raw


def test_project_file_loads_with_every_intent_and_symptom():
    routes = load_routes(ROUTES_FILE)
    assert len(routes.intents) == 23
    assert [s.id for s in routes.omaolo.symptoms][:2] == [
        "sexually_transmitted_infection",
        "urinary_tract_infection",
    ]
    assert {s.id for s in routes.omaolo.symptoms} >= {
        "respiratory_infection",
        "cough",
        "sore_throat",
        "ear_pain",
        "urinary_tract_infection",
        "back_pain",
        "shoulder",
        "knee",
        "headache",
        "diarrhoea",
        "heartburn",
        "eye",
        "anal_symptoms",
        "sexually_transmitted_infection",
        "rash",
    }
    assert routes.pages["booking"].url == "https://etelasavonha.fi/ajanvaraus"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["intents"]["dental_care"].update(target="hammas"),
            "intents.dental_care.target: unknown team 'hammas'",
        ),
        (
            lambda r: r["intents"]["dental_care"].update(type="phone"),
            "intents.dental_care.type: 'phone' is not one of",
        ),
        (
            lambda r: r["intents"]["ask_client_fees"].update(target="prices"),
            "intents.ask_client_fees.target: unknown webpage 'prices'",
        ),
        (lambda r: r["intents"]["dental_care"].pop("label"), "intents.dental_care.label: missing"),
        (lambda r: r.update(teams={"hammas": {"name": "x"}}), "teams: unknown key (teams and the site"),
        (
            lambda r: r["pages"]["booking"].update(url="www.example.fi"),
            "pages.booking.url: 'www.example.fi' must be",
        ),
        (lambda r: r.update(site_base_url="https://example.fi"), "site_base_url: unknown key"),
        (
            lambda r: r["omaolo"]["symptoms"]["eye"].update(keywords=[]),
            "omaolo.symptoms.eye.keywords: missing",
        ),
        (
            lambda r: r["omaolo"]["symptoms"]["eye"].update(keywords=["!!"]),
            "omaolo.symptoms.eye.keywords: a keyword",
        ),
        (
            lambda r: r["omaolo"]["symptoms"]["eye"].update(weak_keywords="kuume"),
            "omaolo.symptoms.eye.weak_keywords: missing",
        ),
        (lambda r: r["omaolo"].update(min_age="15"), "omaolo.min_age: must be a whole number"),
        (lambda r: r["omaolo"].update(child_team="lastenlaakari"), "omaolo.child_team: unknown team"),
        (lambda r: r["omaolo"].update(person_team="hoitaja"), "omaolo.person_team: unknown team"),
        (lambda r: r["omaolo"].update(instead_phrases="ei"), "omaolo.instead_phrases: must be a list"),
        (lambda r: r.update(general_teams=["nobody"]), "general_teams: unknown id 'nobody'"),
        (lambda r: r.pop("pages"), "pages: missing"),
        (
            lambda r: r["follow_up_words"].update(place=["sinne päin"]),
            "follow_up_words.place: must list single words",
        ),
        (lambda r: r.update(new_need_phrases="mista saa"), "new_need_phrases: must be a list"),
        (
            lambda r: r["contact_form_words"].update(stop_words=["anna olla"]),
            "contact_form_words.stop_words: must list single words",
        ),
        (lambda r: r["contact_form_words"].update(maybe=["ehkä"]), "contact_form_words.maybe: unknown key"),
        (lambda r: r["contact_form_words"].update(yes=[]), "contact_form_words.yes: missing"),
        (lambda r: r["farewells"].update({24: "Hyvää yötä!"}), "farewells.24: must be an hour"),
        (lambda r: r["farewells"].update({5: " "}), "farewells.5: missing"),
    ],
)
def test_mistakes_name_the_file_and_the_key(change, message):
    with pytest.raises(RoutesConfigError) as error:
        parse_routes(broken(change), "data/routes.yml", CATALOGUE)
    assert str(error.value).startswith(f"data/routes.yml: {message}")


@pytest.mark.parametrize(
    ("hour", "wish"),
    [(3, "Hyvää yötä!"), (5, "Hyvää päivänjatkoa!"), (16, "Hyvää päivänjatkoa!"), (17, "Hyvää illanjatkoa!"),
     (23, "Hyvää yötä!")],
)  # fmt: skip
def test_the_goodbye_wish_follows_the_time_of_day(hour, wish):
    assert load_routes(ROUTES_FILE).farewell(hour) == wish


def test_unreadable_and_invalid_files_are_reported(tmp_path):
    with pytest.raises(RoutesConfigError, match="missing.yml: cannot read the file"):
        load_routes(tmp_path / "missing.yml", CATALOGUE)
    bad = tmp_path / "bad.yml"
    bad.write_text("intents: [", encoding="utf-8")
    with pytest.raises(RoutesConfigError, match="bad.yml: not valid YAML"):
        load_routes(bad, CATALOGUE)


def test_teams_come_from_the_catalogue_and_pages_from_its_site():
    routes = load_routes(ROUTES_FILE, CATALOGUE)
    assert routes.teams["katilot"].chat == "Kätilöiden chat"
    assert routes.teams["katilot"].hours_text == "ma ja to klo 12–14"
    assert routes.pages["booking"].url == CATALOGUE.web_base_url + "/ajanvaraus"


def test_keywords_are_normalised_like_messages():
    assert normalise("Nenä  TUKOSSA!") == "nena tukossa"
    assert normalise("Selkä-kipu, ÅÖ") == "selka kipu ao"
    assert normalise("Åland") == "aland"


def test_weak_keywords_are_optional_and_normalised():
    symptoms = {symptom.id: symptom for symptom in load_routes(ROUTES_FILE, CATALOGUE).omaolo.symptoms}
    assert symptoms["respiratory_infection"].weak_keywords == ("kuume", "kuumet")
    assert symptoms["eye"].weak_keywords == ()


@pytest.mark.parametrize("other", ["no_such_answer", "omakanta_on_behalf"])
def test_an_answer_given_instead_of_an_unknown_or_itself_is_refused(other):
    def change(raw):
        raw["answers"]["omakanta_on_behalf"]["instead_of"] = [other]

    with pytest.raises(RoutesConfigError, match="answers.omakanta_on_behalf.instead_of"):
        parse_routes(broken(change), "data/routes.yml", CATALOGUE)


def test_another_persons_words_and_stems_are_read_normalised():
    routes = load_routes(ROUTES_FILE)
    assert {"aidin", "iskan", "mummona", "puolesta"} <= routes.another_person_words
    on_behalf = routes.answers["omakanta_on_behalf"]
    assert "resept" in on_behalf.for_another
    assert on_behalf.instead_of == ("omakanta_prescription", "omakanta_results")
