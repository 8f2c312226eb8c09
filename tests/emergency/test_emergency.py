"""Tests of the emergency safety net (opastin.safety.lexicon / .emergency).

The list tests measure the lexicon on ``emergency.txt`` (recall must be 100 %
at the right level) and ``non_emergency.txt`` (false alarms at most 1 %).
``scripts/evaluate_lexicon.py --evaluate`` prints the same numbers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from opastin.content import PROJECT_ROOT
from opastin.safety.lexicon import (
    DEFAULT_LEXICON,
    EmergencyMatcher,
    LexiconError,
    detect_emergency,
    read_emergency_list,
    read_message_list,
)

HERE = Path(__file__).parent
EMERGENCIES = read_emergency_list(HERE / "emergency.txt")
NON_EMERGENCIES = read_message_list(HERE / "non_emergency.txt")


@pytest.fixture(scope="module")
def matcher() -> EmergencyMatcher:
    """The project's lexicon, with Voikko when installed."""
    return EmergencyMatcher.from_file(DEFAULT_LEXICON)


@pytest.fixture(scope="module")
def stems_only() -> EmergencyMatcher:
    """The project's lexicon as it works without libvoikko."""
    return EmergencyMatcher.from_file(DEFAULT_LEXICON, use_voikko=False)


# -- the lists ----------------------------------------------------------------------


def test_lists_are_big_enough_and_unique() -> None:
    assert len(EMERGENCIES) >= 60
    assert len(NON_EMERGENCIES) >= 200
    texts = [text for _, text in EMERGENCIES] + NON_EMERGENCIES
    duplicates = [text for text, count in Counter(t.lower() for t in texts).items() if count > 1]
    assert not duplicates, duplicates
    levels = Counter(level for level, _ in EMERGENCIES)
    assert levels["112"] >= 30 and levels["crisis"] >= 10 and levels["116117"] >= 10, levels


@pytest.mark.parametrize("label,fixture", [("with Voikko", "matcher"), ("stems only", "stems_only")])
def test_recall_is_100_percent_by_level(label: str, fixture: str, request: pytest.FixtureRequest) -> None:
    detector: EmergencyMatcher = request.getfixturevalue(fixture)
    failures = []
    for level, text in EMERGENCIES:
        found = detector.detect(text)
        if found is None or found.level != level:
            failures.append(f"  expected {level:>6}, got {found.level if found else 'nothing':>7}: {text}")
    by_level = Counter(level for level, _ in EMERGENCIES)
    print(f"[{label}] recall {len(EMERGENCIES) - len(failures)}/{len(EMERGENCIES)} ({dict(by_level)})")
    assert not failures, f"{len(failures)} emergencies missed ({label}):\n" + "\n".join(failures)


@pytest.mark.parametrize("label,fixture", [("with Voikko", "matcher"), ("stems only", "stems_only")])
def test_false_alarms_at_most_one_percent(label: str, fixture: str, request: pytest.FixtureRequest) -> None:
    detector: EmergencyMatcher = request.getfixturevalue(fixture)
    alarms = [(text, found) for text in NON_EMERGENCIES if (found := detector.detect(text))]
    rate = len(alarms) / len(NON_EMERGENCIES)
    print(f"[{label}] false alarms {len(alarms)}/{len(NON_EMERGENCIES)} = {rate:.1%}")
    details = "\n".join(f"  {f.level} ({f.rule}: {f.matched!r}): {t}" for t, f in alarms)
    assert rate <= 0.01, f"false alarm rate {rate:.1%} ({label}):\n{details}"


# -- focused behaviour --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ei ole rintakipua",
        "rintakipua ei ole ollut",
        "ei mitään rintakipua, vain yskää",
        "ilman rintakipua",
        "rintaan ei satu",
        "en halua kuolla",
        "ei tunnu puristusta rinnassa",
        "kuumetta ei oo eikä rinta punota, sattuu vaan kun vauva imee",  # denied after its word, mid-span
    ],
)
def test_negation_cancels_a_match(matcher: EmergencyMatcher, text: str) -> None:
    assert matcher.detect(text) is None


@pytest.mark.parametrize(
    "text,level",
    [
        ("ei ole ennen ollut näin kovaa rintakipua", "112"),  # "ennen" is no filler: not negated
        ("ei ole rintakipua mutta nyt isä ei herää", "112"),  # the second clause stands
        ("ei pysty hengittämään", "112"),  # the negation is part of the rule
        ("en saa henkeä", "112"),
        ("en jaksa elää", "crisis"),
        ("viiltelin taas, ei oo syvä", "crisis"),  # "ei oo" with more after it is no denial
    ],
)
def test_negation_does_not_hide_real_emergencies(matcher: EmergencyMatcher, text: str, level: str) -> None:
    found = matcher.detect(text)
    assert found is not None and found.level == level, (text, found)


@pytest.mark.parametrize(
    "text", ["rintakipu", "rintakipua", "rinta kipu", "rintaan sattuu", "RINTAKIPUA!!", "kova kipu rinnassa"]
)
def test_chest_pain_forms(matcher: EmergencyMatcher, text: str) -> None:
    found = matcher.detect(text)
    assert found is not None and found.level == "112" and found.rule == "chest_pain"


@pytest.mark.parametrize(
    "with_umlauts,without",
    [
        ("isä ei herää", "isa ei heraa"),
        ("lapsi ei hengitä", "lapsi ei hengita"),
        ("äiti puhuu sekavia ja suu roikkuu", "aiti puhuu sekavia ja suu roikkuu"),
        ("en jaksa enää elää", "en jaksa enaa elaa"),
        ("vauvalla on kuumetta", "vauvalla on kuumetta"),
    ],
)
def test_missing_umlauts_match_the_same_rule(
    matcher: EmergencyMatcher, with_umlauts: str, without: str
) -> None:
    first, second = matcher.detect(with_umlauts), matcher.detect(without)
    assert first is not None and second is not None
    assert (first.level, first.rule) == (second.level, second.rule)


@pytest.mark.parametrize(
    "text,rule",
    [
        ("tyttö on nielaissut lääkkeitä, koko purkin", "overdose"),
        ("poikani viiltelee", "self_harm"),
        ("tappaisin itseni", "kill_myself"),
        ("äiti menetti tajuntansa", "unconscious"),
        ("ranteeni murtui", "fracture"),
    ],
)
def test_inflected_forms(matcher: EmergencyMatcher, text: str, rule: str) -> None:
    found = matcher.detect(text)
    assert found is not None and found.rule == rule, (text, found)


def test_voikko_adds_base_forms(matcher: EmergencyMatcher) -> None:
    if not matcher.lemmatizer.available:
        pytest.skip("libvoikko is not installed")
    assert "rintakipu" in matcher.lemmatizer.lemmas("rintakipua")
    assert "herata" in matcher.lemmatizer.lemmas("heraa")  # umlauts restored before analysis


def test_priority_112_over_crisis_and_116117(matcher: EmergencyMatcher) -> None:
    found = matcher.detect("haluan kuolla ja otin kaikki pillerit")
    assert found is not None and found.level == "112"
    assert found.levels == ("112", "crisis")
    found = matcher.detect("pitäisikö lähteä päivystykseen, isä ei herää")
    assert found is not None and found.level == "112" and "116117" in found.levels
    found = matcher.detect("haluan kuolla, pitäiskö mennä päivystykseen")
    assert found is not None and found.level == "crisis"


@pytest.mark.parametrize("text", ["", "   ", "!!!", "😀", "a"])
def test_empty_or_odd_input(matcher: EmergencyMatcher, text: str) -> None:
    assert matcher.detect(text) is None


def test_detect_emergency_uses_the_project_lexicon() -> None:
    found = detect_emergency("mies ei herää")
    assert found is not None and found.level == "112" and found.rule


def test_regex_keeps_escape_case() -> None:
    lexicon = {"levels": {"116117": [{"id": "num", "regex": ["\\b116\\S?117\\b"]}]}}
    matcher = EmergencyMatcher(lexicon, use_voikko=False)
    assert matcher.detect("soitanko 116117") is not None
    assert matcher.detect("soitanko 116 117") is None  # \S must not have become \s


def test_unless_is_sentence_local(matcher: EmergencyMatcher) -> None:
    assert matcher.detect("rinta kipeä imettäessä") is None
    found = matcher.detect("Imetin eilen. Nyt kova rintakipu ja hikoilen.")
    assert found is not None and found.level == "112"


def test_unless_anywhere_reads_the_vetoes_in_every_sentence() -> None:
    rule = {"id": "moves", "patterns": ["liikkeitä ei tunnu"], "unless": ["viikko 20"]}
    local = EmergencyMatcher({"levels": {"112": [rule]}}, use_voikko=False)
    anywhere = EmergencyMatcher({"levels": {"112": [{**rule, "unless_anywhere": True}]}}, use_voikko=False)
    text = "Raskaus on viikko 20. Liikkeitä ei tunnu vielä."
    assert local.detect(text) is not None
    assert anywhere.detect(text) is None
    assert anywhere.detect("Liikkeitä ei tunnu vielä.") is not None


# -- lexicon validation -------------------------------------------------------------


def _lexicon(**levels: object) -> dict:
    return {"negations": ["ei"], "levels": levels or {"112": [{"id": "x", "patterns": ["rintakipu*"]}]}}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Far har fått en plötslig svår huvudvärk", True),  # "en" is an article in Swedish
        ("Jag har inte ont i bröstet", False),
        ("ei ole rintakipua", False),
        ("not rintakipua", False),  # a Finnish rule heeds every language's negations, as before
    ],
)
def test_negations_are_read_in_the_rules_language(matcher: EmergencyMatcher, text: str, found: bool) -> None:
    assert (matcher.detect(text) is not None) is found


def test_foreign_negations_must_name_a_language() -> None:
    lexicon = {**_lexicon(), "foreign_negations": {"de": ["nicht"]}}
    with pytest.raises(LexiconError, match="'foreign_negations' must map"):
        EmergencyMatcher(lexicon, use_voikko=False)


def test_minimal_lexicon_works() -> None:
    matcher = EmergencyMatcher(_lexicon(), use_voikko=False)
    assert matcher.detect("rintakipua").rule == "x"
    assert matcher.detect("ei rintakipua") is None


@pytest.mark.parametrize(
    "lexicon,message",
    [
        ([], "must be a mapping"),
        ({"levels": {}}, "'levels'"),
        ({"levels": {"112": []}, "extra": 1}, "unknown top-level key"),
        (_lexicon(**{"911": [{"id": "a", "patterns": ["x"]}]}), "levels.911: unknown level"),
        (_lexicon(**{"112": [{"patterns": ["x"]}]}), "levels.112[0]: missing 'id'"),
        (_lexicon(**{"112": [{"id": "a"}]}), "(id 'a'): needs at least one"),
        (
            _lexicon(**{"112": [{"id": "a", "patterns": ["x"]}, {"id": "a", "patterns": ["y"]}]}),
            "duplicate id",
        ),
        (_lexicon(**{"112": [{"id": "a", "patterns": ["rinta-kipu"]}]}), "bad word alternative 'rinta-kipu'"),
        (_lexicon(**{"112": [{"id": "a", "patterns": ["x||y"]}]}), "bad word alternative"),
        (_lexicon(**{"112": [{"id": "a", "regex": ["(unclosed"]}]}), "invalid regular expression"),
        (_lexicon(**{"112": [{"id": "a", "patterns": ["x"], "windw": 3}]}), "unknown key(s) ['windw']"),
        (
            _lexicon(**{"112": [{"id": "a", "patterns": ["x"], "window": 0}]}),
            "'window' must be a whole number",
        ),
        (_lexicon(**{"112": [{"id": "a", "patterns": ["x"], "any_order": "yes"}]}), "'any_order' must be"),
        (_lexicon(**{"112": [{"id": "a", "patterns": "x"}]}), "'patterns' must be a list"),
        (_lexicon(**{"112": [{"id": "a", "regex": [112]}]}), "every 'regex' entry must be a string"),
    ],
)
def test_invalid_lexicon_is_reported_with_file_and_entry(lexicon: object, message: str) -> None:
    with pytest.raises(LexiconError) as error:
        EmergencyMatcher(lexicon, use_voikko=False, source="custom.yml")  # type: ignore[arg-type]
    assert str(error.value).startswith("custom.yml: ")
    assert message in str(error.value)


def test_lexicon_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "lexicon.yml"
    broken.write_text("levels:\n  \"112\":\n    - id: chest\n      patterns: ['(']\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon\.yml: levels\.112\[0\] \(id 'chest'\)"):
        EmergencyMatcher.from_file(broken)
    broken.write_text("levels: [unclosed", encoding="utf-8")
    with pytest.raises(LexiconError, match="not valid YAML"):
        EmergencyMatcher.from_file(broken)
    with pytest.raises(LexiconError, match="cannot read"):
        EmergencyMatcher.from_file(tmp_path / "missing.yml")
    broken.write_text("levels:\n  crisis: []\n  crisis: []\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="the key 'crisis' is written twice"):
        EmergencyMatcher.from_file(broken)


def test_project_lexicon_is_not_rasa_training_data() -> None:
    # Rasa's importer reads every YAML file under data/; these keys would make it NLU/story data.
    data = yaml.safe_load((PROJECT_ROOT / DEFAULT_LEXICON).read_text(encoding="utf-8"))
    assert not {"nlu", "stories", "rules", "version", "intents", "responses"} & set(data)


# -- the Rasa component -------------------------------------------------------------


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - imports Rasa lazily
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from rasa_addons.emergency import EmergencyDetector

    config = {**EmergencyDetector.get_default_config()}
    return EmergencyDetector.create(
        config,
        LocalModelStorage(tmp_path_factory.mktemp("model_storage")),
        Resource("emergency_detector"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def _message(text: str, intent: str, confidence: float, entities: list | None = None):  # noqa: ANN202
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.data["intent"] = {"name": intent, "confidence": confidence}
    message.data["intent_ranking"] = [
        {"name": intent, "confidence": confidence},
        {"name": "report_symptom", "confidence": 0.1},
    ]
    message.data["entities"] = list(entities or [])
    return message


def test_component_overrides_an_existing_intent(component) -> None:  # noqa: ANN001
    message = _message("isä ei herää", "elderly_services", 0.93)
    (result,) = component.process([message])
    assert result.data["intent"] == {"name": "emergency", "confidence": 1.0}
    assert result.data["intent_ranking"][0] == {"name": "emergency", "confidence": 1.0}
    names = [item["name"] for item in result.data["intent_ranking"]]
    assert names == ["emergency", "elderly_services", "report_symptom"]
    assert result.data["entities"] == [
        {
            "entity": "emergency_level",
            "value": "112",
            "start": 0,
            "end": len("isä ei herää"),
            "extractor": "EmergencyDetector",
            "confidence_entity": 1.0,
        }
    ]


def test_component_overrides_nlu_fallback_and_keeps_other_entities(component) -> None:  # noqa: ANN001
    other = {"entity": "age", "value": "3", "start": 0, "end": 1, "extractor": "RegexEntityExtractor"}
    message = _message("mä en jaksa enää elää", "nlu_fallback", 0.5, [other])
    (result,) = component.process([message])
    assert result.data["intent"]["name"] == "emergency"
    assert result.data["entities"][0] == other
    assert result.data["entities"][1]["value"] == "crisis"


def test_help_called_with_a_need_the_call_does_not_meet_carries_that_level(component) -> None:  # noqa: ANN001
    text = "soitettiin, ambulanssi tulee. mut pappa on muistisairas eikä voi jäädä yksin kotiin"
    (result,) = component.process([_message(text, "elderly_services", 0.6)])
    assert result.data["intent"]["name"] == "emergency_called"
    assert [(e["entity"], e["value"]) for e in result.data["entities"]] == [("emergency_level", "social")]


def test_negated_danger_words_are_marked_with_their_level(component) -> None:  # noqa: ANN001
    text = "en mä oo tekemässä itelleni mitään, mut haluisin puhua jollekin"
    (result,) = component.process([_message(text, "mental_health", 0.8)])
    assert result.data["intent"]["name"] == "mental_health"
    assert [(e["entity"], e["value"]) for e in result.data["entities"]] == [("emergency_denied", "crisis")]


def test_help_called_for_a_112_matter_carries_no_further_level(component) -> None:  # noqa: ANN001
    (result,) = component.process([_message("soitin 112, isä ei herää", "emergency", 0.9)])
    assert result.data["intent"]["name"] == "emergency_called"
    assert result.data["entities"] == []


def test_an_emergency_over_is_marked_resolved(component) -> None:  # noqa: ANN001
    text = "se löyty naapurin pihalta, nyt se on kotona ja kunnossa. mut ei se pärjää enää yksin"
    (result,) = component.process([_message(text, "elderly_services", 0.7)])
    assert result.data["intent"]["name"] == "emergency_called"
    assert [(e["entity"], e["value"]) for e in result.data["entities"]] == [
        ("emergency_resolved", "resolved")
    ]


def test_component_leaves_other_messages_alone(component) -> None:  # noqa: ANN001
    message = _message("astmalääkkeen resepti", "prescription_renewal", 0.97)
    before = {key: value for key, value in message.data.items()}
    (result,) = component.process([message])
    assert result.data == before


def test_a_classifier_only_guess_with_nothing_else_likely_asks_the_safety_question(
    component,  # noqa: ANN001
) -> None:
    component.net.learned = None  # the classifier alone saw danger
    message = _message("vauva ei herää yöllä syömään", "emergency", 0.9)
    message.data["intent_ranking"] = [
        {"name": "emergency", "confidence": 0.9},
        {"name": "child_health_clinic", "confidence": 0.03},  # 30 % of what is left: unsure
    ]
    (result,) = component.process([message])
    assert result.data["intent"] == {"name": "emergency", "confidence": 1.0}  # never "did not understand"
    levels = {e["entity"]: e["value"] for e in result.data["entities"]}
    assert levels == {
        "emergency_level": "confirm",
        "emergency_suspected": "112",
        "emergency_layer": "classifier",
        "emergency_strength": "moderate",
    }

    confident = _message("Vastaus tuli nopeasti", "emergency", 0.4)
    confident.data["intent_ranking"] = [
        {"name": "emergency", "confidence": 0.4},
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "thank", "confidence": 0.55},
    ]
    (result,) = component.process([confident])
    assert result.data["intent"] == {"name": "thank", "confidence": pytest.approx(0.55 / 0.6)}

    # With emergency ruled out, 30 % of a message is 88 % of what is left.
    shared = _message("mummo ei jaksa elää ilman apua kotona", "emergency", 0.66)
    shared.data["intent_ranking"] = [
        {"name": "emergency", "confidence": 0.66},
        {"name": "elderly_services", "confidence": 0.3},
    ]
    (result,) = component.process([shared])
    assert result.data["intent"] == {"name": "elderly_services", "confidence": pytest.approx(0.3 / 0.34)}


def test_component_without_previous_classifier(component) -> None:  # noqa: ANN001
    from rasa.shared.nlu.training_data.message import Message

    (result,) = component.process([Message(data={"text": "vauvalla korkea kuume"})])
    assert result.data["intent"]["name"] == "emergency"
    assert result.data["intent_ranking"] == [{"name": "emergency", "confidence": 1.0}]
    assert result.data["entities"][0]["value"] == "116117"


def test_component_config_points_to_a_broken_lexicon(tmp_path: Path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from rasa_addons.emergency import EmergencyDetector

    broken = tmp_path / "lexicon.yml"
    broken.write_text("levels:\n  '112':\n    - id: a\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="lexicon.yml: levels.112\\[0\\] \\(id 'a'\\)"):
        EmergencyDetector.create(
            {"lexicon": str(broken), "use_voikko": False},
            LocalModelStorage(tmp_path / "storage"),
            Resource("emergency_detector"),
            ExecutionContext(GraphSchema({}), "test"),
        )


def test_examples_marked_so_do_not_train_the_learned_detector(component, tmp_path: Path) -> None:  # noqa: ANN001
    """An intent block with ``metadata: {learned_detector: false}`` trains the intent classifier only."""
    from rasa.shared.nlu.training_data.loading import load_data

    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: emergency\n  examples: |\n    - rintaan sattuu kovasti\n'
        "- intent: dental_care\n  metadata:\n    learned_detector: false\n  examples: |\n"
        "    - poskeen sattuu kovasti\n- intent: dental_care\n  examples: |\n    - hammas on lohjennut\n",
        encoding="utf-8",
    )
    emergencies, everyday = component._training_lists(load_data(str(tmp_path / "nlu.yml")))

    assert [text for _, text in emergencies] == ["rintaan sattuu kovasti"]
    assert everyday == ["hammas on lohjennut"]


def test_a_rule_that_overrides_a_more_urgent_one_wins_when_both_match() -> None:
    lexicon = _lexicon(
        **{
            "112": [{"id": "hit", "patterns": ["löi"], "help": "violence"}],
            "social": [
                {"id": "shelter", "patterns": ["yöpaikka*"], "overrides": ["hit"], "help": "violence"}
            ],
        }
    )
    matcher = EmergencyMatcher(lexicon, use_voikko=False)
    hit = matcher.detect("mies löi")
    assert (hit.level, hit.rule, hit.help) == ("112", "hit", "violence")
    both = matcher.detect("mies löi, nyt ilman yöpaikkaa")
    assert (both.level, both.rule, both.levels) == ("social", "shelter", ("112", "social"))
    assert both.help == "violence"  # the outranked rule's help still comes with the answer


@pytest.mark.parametrize(
    "rule,message",
    [
        ({"id": "a", "patterns": ["x"], "overrides": ["nope"]}, "names unknown rule(s) ['nope']"),
        ({"id": "a", "patterns": ["x"], "overrides": "b"}, "'overrides' must be a list"),
        ({"id": "a", "patterns": ["x"], "help": "money"}, "'help' must be one of violence"),
    ],
)
def test_overrides_and_help_are_checked(rule: dict, message: str) -> None:
    with pytest.raises(LexiconError) as error:
        EmergencyMatcher(_lexicon(**{"112": [rule]}), use_voikko=False)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "text,level,rule",
    [
        ("mies löi mua, oon nyt kaverin luona enkä uskalla mennä kotiin", "social", "afraid_to_go_home"),
        ("mies hakkaa mua just nyt", "112", "violence_now"),
        ("isä kaatui ja löi päänsä, nyt se oksentelee ja on tosi uninen", "112", "head_injury_worsening"),
        ("isä löi päänsä eilen portaissa, kipeä kohta otsassa", "116117", "head_injury"),
        ("kiehuva kattila kaatui lapsen päälle, rinta ja käsivarsi rakkuloilla", "112", "large_scald"),
        ("kamiina savuttaa ja kaikilla kova päänsärky, yksi pyörtyi", "112", "carbon_monoxide"),
        ("verta tuloo niin paljo ettei tyrehdy", "112", "severe_bleeding"),
        ("syön metotreksaattia ja nyt kuumetta 39", "116117", "fever_on_immunosuppressants"),
        (
            "lapsella 39 kuumetta ja korvaan sattuu, on perjantai-ilta, mihin voi mennä",
            "116117",
            "where_to_call_after_hours",
        ),
        ("mummolla ripulia kolme päivää ja nyt on tosi voimaton eikä juo", "116117", "diarrhoea_and_weak"),
        ("kaveri kaatu maahan ja nykii koko kropalla", "112", "seizure_signs"),
        ("sydän hakkaa, kello näyttää yli 190 ja silmissä sumenee", "112", "racing_heart"),
        ("sokerimittari näyttää HI ja henki haisee asetonilta", "112", "diabetic_ketoacidosis"),
        ("mulla on ollu anafylaksia ennenkin ja nyt on taas sama olo", "112", "anaphylaxis_again"),
        ("rv 8 ja kova kipu alavatsassa, olkapäähän sattuu ja pyörryttää", "112", "ectopic_pregnancy_signs"),
        ("kaveri pyörtyi saunaan eikä tuu tajuihinsa", "112", "unconscious"),
        ("en aio herätä huomenna, kaikki on jo sanottu", "crisis", "will_not_wake_up"),
        ("Minulla on paniikkikohtaus enkä saa itseäni rauhoittumaan", "crisis", "panic_not_passing"),
        ("äiti on niin kännissä ettei se pysty hoitaa vauvaa", "social", "carer_intoxicated"),
        ("kehitysvammainen veli katos kauppakeskuksesta tunti sitten", "social", "vulnerable_person_missing"),
        ("äiti 88v on tänään tavallista sekavampi", "116117", "more_confused_than_usual"),
        ("insuliinikynä jäi mökille, seuraava pistos illalla", "116117", "vital_medicine_run_out"),
        ("3v ei suostu käyttää kättään sen jälkeen kun sitä vedettiin kädestä", "116117", "will_not_use_arm"),
        ("mummon hymy on vino ja kuppi tippu kädestä", "112", "stroke_crooked_smile"),
        ("kohtaus ei lopu ja toinen alkoi heti perään", "112", "seizure_not_stopping"),
        ("synnytin viikko sitten ja nyt side täyttyy vartissa", "112", "pad_soaked_quickly"),
        ("Onko normaalia, ettei 3 viikon vauva herää? Hän on kuuma ja veltto.", "112", "newborn_not_waking"),
        ("Kiitos kaikesta. Voitte perua ajan, en tarvitse sitä enää.", "crisis", "farewell_cancelling"),
        ("paljonko insuliinia pitää ottaa ettei enää herää", "crisis", "so_as_not_to_wake"),
        ("Minut raiskattiin eilen enkä pysty lopettamaan tärisemistä", "crisis", "sexual_assault_recent"),
        ("mieheni lukitsee minut asuntoon aina kun hän lähtee töihin", "social", "locked_in_by_partner"),
        ("leikkaushaava aukesi ja siitä tihkuu kellertävää", "116117", "surgical_wound_opened"),
        ("pysyvä etuhammas lähti irti jääkiekossa", "116117", "tooth_knocked_out"),
        ("mummo kaatui ja ranne on turvonnut ja kipeä", "116117", "swollen_after_fall"),
        ("lapsen astma pahentunut, avaavaa tarvitsee joka kolmas tunti", "116117", "asthma_worsening"),
        ("selkään tuli vyöruusu, mistä saa lääkkeen viikonloppuna", "116117", "shingles"),
        ("punkki puri viikko sitten ja ympärille tuli iso punainen rengas", "116117", "tick_bite_ring"),
        ("oon juonu ja mulla on terä kädessä", "crisis", "blade_in_hand"),
        ("äidin kuoleman jälkeen isä sanoi, että pian hän pääsee äidin luo", "crisis", "join_the_dead"),
    ],
)
def test_shelter_and_injury_levels(matcher: EmergencyMatcher, text: str, level: str, rule: str) -> None:
    found = matcher.detect(text)
    assert found is not None and (found.level, found.rule) == (level, rule)


@pytest.mark.parametrize(
    "text",
    [
        "puolisoni halvaantui onnettomuudessa ja tarvitsee kotiin luiskan, mistä haetaan",
        "nyt ei ole rahaa lääkkeisiin ja lapsille pitäisi ostaa talvikengät",
        "isä on nyt ihan voimaton eikä jaksa lähteä kauppaan",
        "takka savuttaa vähän, miten nuohooja tilataan",
        "syön metotreksaattia, saako ottaa influenssarokotteen",
        "oikee olkapää on kipee kun nostaa kättä ylös, yöllä ei pysty nukkuu sen kyljen päällä",
        "Kolesteroli oli koholla ja nyt pelottaa että saan sydänkohtauksen",
        "Lapsi jää iltapäivisin yksin kotiin koulun jälkeen. Onko iltapäiväkerhoja?",
        "allergia taas pahana keväällä, silmät kutiaa",
        "meidän kani ei syö ja hengittää nopeesti",
        "silmäluomi nykii koko ajan",
        "syke nousi lenkillä 175:een",
        "rintakipua ei oo eikä hengenahdistusta mut verenpaine oli 150/95",
        "raskausivikko 20 ja närästää",
        "maitohammas lähti irti",
        "melkein pyörryin kun kuulin et hammaslääkäri maksaa 200e",
        "Mistä saan ohjeet palovamman hoitoon kotona? Kävin päivystyksessä eilen.",
        "pian pääsen mummon luo kylään",
        "vaimolla todettiin verenmyrkytys tammikuussa ja hän on yhä väsynyt",
    ],
)
def test_service_needs_and_everyday_words_are_not_emergencies(matcher: EmergencyMatcher, text: str) -> None:
    assert matcher.detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "My grandmother fell down the stairs and she is not making sense, blood is coming from her ear",
        "Min pappa kan inte lyfta höger arm och pratar konstigt",
        "Jag får ingen luft och det känns som att halsen stängs",
        "My friend took a lot of paracetamol about two hours ago, she says she's fine",
    ],
)
def test_english_and_swedish_are_not_read_as_finnish(matcher: EmergencyMatcher, text: str) -> None:
    found = matcher.detect(text)
    assert found is not None and found.level == "112" and not found.tempered


def test_help_called_in_swedish_carries_the_language(component) -> None:  # noqa: ANN001
    (result,) = component.process([_message("ambulansen är på väg nu, tack", "other_language", 0.9)])
    assert result.data["intent"]["name"] == "emergency_called"
    assert [(e["entity"], e["value"]) for e in result.data["entities"]] == [("language", "sv")]
