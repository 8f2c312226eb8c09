"""decide_route and its helpers on the project's own data/routes.yml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.routing import (
    Route,
    age_in_years,
    announces_a_new_need,
    answer_asked,
    answer_for,
    asks_about_a_later_hour,
    asks_about_calling,
    asks_to_be_contacted,
    asks_vaguely,
    asks_where,
    clarify_options,
    consecutive_misses,
    decide_route,
    emergency_level,
    ends_with_thanks_and_goodbye,
    find_symptom,
    mentions,
    opens_another_matter,
    resolve_fallback,
    route_reply,
    tells_its_own_matter,
    wants_a_call_today,
)
from opastin.routes import default_routes

ROUTES = default_routes()
SYMPTOMS = {symptom.id: symptom for symptom in ROUTES.omaolo.symptoms}
OMAOLO = "https://www.omaolo.fi/palvelut/oirearviot/"
DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"


def route_of(intent: str, text: str = "", entities: list[dict] | None = None) -> Route | None:
    return decide_route(intent, text, entities or [], ROUTES)


@pytest.mark.parametrize(
    ("intent", "team"),
    [
        ("elderly_services", "palveluneuvo"),
        ("caregiver_support", "palveluneuvo"),
        ("disability_services", "vammaispalvelut"),
        ("child_health_clinic", "neuvola"),
        ("pregnancy", "katilot"),
        ("health_centre_appointment", "terveysneuvo"),
        ("prescription_renewal", "terveysneuvo"),
        ("lab_results", "terveysneuvo"),
        ("sick_note", "terveysneuvo"),
        ("income_support", "tyoikaisten_sosiaalityo"),
        ("housing", "tyoikaisten_sosiaalityo"),
        ("debt_advice", "tyoikaisten_sosiaalityo"),
        ("dental_care", "suun_terveydenhuolto"),
        ("mental_health", "mielenterveys_paihde"),
        ("substance_use", "mielenterveys_paihde"),
        ("family_support", "perhekeskus"),
        ("physiotherapy", "fysioterapia"),
    ],
)
def test_team_intents_go_to_their_team(intent, team):
    route = route_of(intent, "jotain")
    assert (route.type, route.target) == ("team", team)
    assert route.payload()["route"]["label"] == ROUTES.teams[team].name


@pytest.mark.parametrize(
    ("text", "symptom", "slug"),
    [
        ("mun pojalla on korva kipee", "ear_pain", "korvakipu"),
        ("korvakipu", "ear_pain", "korvakipu"),
        ("KURKKU KIPEÄ", "sore_throat", "kurkkukipu"),
        ("kurkussa kipua ja nieleminen sattuu", "sore_throat", "kurkkukipu"),
        ("pissatessa kirvelee", "urinary_tract_infection", "virtsatietulehdus"),
        ("virtsatietulehdus taas", "urinary_tract_infection", "virtsatietulehdus"),
        ("yskin koko yön", "cough", "yska"),
        ("flunssa ja kuumetta", "respiratory_infection", "hengitystietulehdus"),
        ("selässä kova kipu", "back_pain", "alaselkakipu"),
        ("alaselkä jumissa", "back_pain", "alaselkakipu"),
        ("olkapää kipeä", "shoulder", "olkapaavaivat"),
        ("polvessa turvotusta", "knee", "polvivaivat"),
        ("paa kipee", "headache", "paansarky"),
        ("päänsärky", "headache", "paansarky"),
        ("ripuli", "diarrhoea", "ripuli"),
        ("närästää joka ilta", "heartburn", "narastys"),
        ("silmä rähmii", "eye", "silman-punoitus"),
        ("peräpukamat", "anal_symptoms", "perapukamat"),
        ("epäilen klamydiaa", "sexually_transmitted_infection", "seksitautiepaily"),
        ("ihottumaa käsissä", "rash", "yleinen-oirearvio"),
    ],
)
def test_symptom_goes_to_its_omaolo_deep_link(text, symptom, slug):
    route = route_of("report_symptom", text)
    assert route.payload() == {
        "route": {
            "type": "omaolo",
            "target": OMAOLO + slug,
            "symptom": symptom,
            "label": SYMPTOMS[symptom].name,
        }
    }


def test_unrecognised_symptom_goes_to_the_omaolo_front_page():
    route = route_of("report_symptom", "olen kipeä")
    assert route.payload() == {
        "route": {
            "type": "omaolo",
            "target": "https://www.omaolo.fi/",
            "symptom": "general",
            "label": "Omaolo",
        }
    }


def test_first_listed_symptom_wins():
    assert find_symptom("kurkku kipeä ja yskää", ROUTES.omaolo.symptoms).id == "cough"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ripulia eilisestä asti, vettä pystyy juomaan, ei kuumetta", "diarrhoea"),
        ("Ripuli alkoi eilen, kuumetta ei ole ja juon paljon vettä.", "diarrhoea"),
        ("pää kipeä monta päivää, ei oo ollu kuumetta", "headache"),
        ("käsivarsissa kutiava ihottuma, kuumetta ei ole ollut", "rash"),
        ("olkapää ei nouse ylös ilman kipua", "shoulder"),
    ],
)
def test_a_denied_symptom_does_not_choose_the_assessment(text, expected):
    assert find_symptom(text, ROUTES.omaolo.symptoms).id == expected


def test_a_symptom_that_goes_on_is_not_denied():
    assert find_symptom("kurkku ei ole parantunut viikossa", ROUTES.omaolo.symptoms).id == "sore_throat"


@pytest.mark.parametrize(
    "text",
    ["väsyttää, ei kuumetta eikä ripulia", "päänsärkyä tai näköhäiriöitä ei oo, ihan vaan turvotusta"],
)
def test_nothing_but_denials_is_the_general_questionnaire(text):
    assert find_symptom(text, ROUTES.omaolo.symptoms) is None


def test_a_weak_keyword_counts_only_alone():
    assert find_symptom("kuumetta kaksi päivää", ROUTES.omaolo.symptoms).id == "respiratory_infection"
    assert find_symptom("kurkku kipee ja kuume 38", ROUTES.omaolo.symptoms).id == "sore_throat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Syömisen jälkeen polttelee rintalastan alla ja hapanta nousee kurkkuun", "heartburn"),
        ("Sukupuolielimissä on pieniä kutisevia rakkuloita", "sexually_transmitted_infection"),
        ("kirvelee pissatessa ja valkosta vuotoo, uus tyyppi ilman kumia", "sexually_transmitted_infection"),
        ("nenä vuotaa, kurkku karhea ja lämpöä 37,8", "respiratory_infection"),
        ("yskä on jatkunut kolme viikkoa flunssan jälkeen", "cough"),
        ("Päätä on jyskyttänyt aamusta asti ohimoilta", "headache"),
    ],
)
def test_symptoms_residents_describe_without_naming_them(text, expected):
    assert find_symptom(text, ROUTES.omaolo.symptoms).id == expected


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("korva", "korvakipu", True),
        ("paansar", "paan sarky", True),
        ("paa on kipea", "paa on kipea aamuisin", True),
        ("paa on kipea", "kantapaa on kipea aamuisin", False),
        ("paa on kipea", "illalla paa on kipea", True),
        ("silma", "olkapaa ei nouse ylos ilman kipua", False),
        ("paansar", "onks taa paan sarky", True),
    ],
)
def test_one_word_keywords_match_inside_words_and_phrases_from_a_word_start(keyword, text, expected):
    assert mentions(keyword, text) is expected


def test_a_heel_is_not_a_head():
    assert find_symptom("kantapää on kipeä aamuisin", ROUTES.omaolo.symptoms) is None


def test_words_run_together_only_from_a_word_start():
    assert find_symptom("olkapää ei nouse ylös ilman kipua", ROUTES.omaolo.symptoms).id == "shoulder"


@pytest.mark.parametrize(
    ("value", "years"),
    [
        ("3-vuotiaalla", 3),
        ("8 v", 8),
        ("16-vuotias", 16),
        ("6 kk ikäinen", 0),
        ("kuusivuotiaalla", 6),
        ("kaksitoistavuotias", 12),
        ("kaksvuotiaalla", 2),
        ("viisvuotias", 5),
        ("vauvalla", 0),
        ("jotain", None),
    ],
)
def test_age_in_years(value, years):
    assert age_in_years(value) == years


def test_child_under_omaolo_age_goes_to_a_team():
    route = route_of("report_symptom", "vauvalla kuumetta", [{"entity": "age", "value": "vauvalla"}])
    assert (route.type, route.target) == ("team", "terveysneuvo")
    assert route_reply(route, ROUTES).response == "utter_route_child_symptom"


@pytest.mark.parametrize(
    "text",
    ["moi, mun lapsi on valittanu korvaa eilisestä asti", "lapsenlapset on hoidossa ja toinen oksentaa"],
)
def test_a_childs_symptom_with_no_age_goes_to_the_child_team(text):
    route = route_of("report_symptom", text)
    assert (route.type, route.target) == ("team", "terveysneuvo")
    assert route_reply(route, ROUTES).response == "utter_route_child_symptom"


def test_an_adults_symptom_with_no_child_goes_to_omaolo():
    route = route_of("report_symptom", "mulla on ollu korva kipeä eilisestä asti")
    assert route.type == "omaolo"


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("voiko joku ihminen soittaa mulle viel tänään", True),
        ("soittakaa mulle heti", True),
        ("voisko joku soittaa mulle huomenna", False),
        ("haluun jättää soittopyynnön", False),
        ("voinko jättää viestin nyt", False),
        ("chatti on kai kiinni nyt, voinko jättää soittopyynnön", False),
        ("tiiän et on yö, mut voiks joku soittaa mulle heti aamulla", False),  # the next morning
    ],
)
def test_a_call_today_is_told_from_a_call_back_later(text, today):
    assert wants_a_call_today(text, ROUTES) is today


def test_teenager_of_omaolo_age_goes_to_omaolo():
    route = route_of(
        "report_symptom", "16-vuotiaalla polvi kipeä", [{"entity": "age", "value": "16-vuotiaalla"}]
    )
    assert (route.type, route.target) == ("omaolo", OMAOLO + "polvivaivat")


@pytest.mark.parametrize(
    ("intent", "page", "path"),
    [
        ("ask_client_fees", "client_fees", "/asiakasmaksut"),
        ("ask_how_to_book", "booking", "/ajanvaraus"),
        ("ask_contact_info", "contact_info", "/yhteystiedot"),
        ("ask_chat_hours", "chat_hours", "/chat"),
    ],
)
def test_information_questions_go_to_a_page_under_the_county_site(intent, page, path):
    route = route_of(intent)
    expected = ("webpage", "https://etelasavonha.fi" + path, page)
    assert (route.type, route.target, route.extra["page"]) == expected


def test_contact_request_goes_to_the_form():
    assert route_of("contact_request").payload() == {"route": {"type": "form", "target": "contact_request"}}


@pytest.mark.parametrize(
    ("entities", "level"),
    [
        ([], "112"),
        ([{"entity": "emergency_level", "value": "116117"}], "116117"),
        ([{"entity": "emergency_level", "value": "crisis"}], "crisis"),
        (
            [{"entity": "emergency_level", "value": "crisis"}, {"entity": "emergency_level", "value": "112"}],
            "112",
        ),
        (
            [
                {"entity": "emergency_level", "value": "116117"},
                {"entity": "emergency_level", "value": "crisis"},
            ],
            "crisis",
        ),
    ],
)
def test_emergency_level(entities, level):
    assert emergency_level(entities) == level
    assert route_of("emergency", "apua", entities).payload() == {
        "route": {"type": "emergency", "target": level}
    }


@pytest.mark.parametrize(
    "intent",
    [
        "greet",
        "goodbye",
        "thank",
        "chitchat",
        "out_of_scope",
        "nlu_fallback",
        "other_language",
        "unclear_input",
        "affirm",
        "deny",
        None,
    ],
)
def test_no_route_for_conversation_and_misunderstanding(intent):
    assert route_of(intent, "moi") is None


def test_request_human_with_a_team_button_goes_to_that_team():
    route = route_of("request_human", "", [{"entity": "team", "value": "palveluneuvo"}])
    assert (route.type, route.target) == ("team", "palveluneuvo")
    assert route_of("request_human", "", [{"entity": "team", "value": "nonexistent"}]) is None


def test_every_route_has_a_reply_with_a_domain_response():
    responses = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]
    routes = [route_of(intent, "korva") for intent in ROUTES.intents]
    routes += [
        route_of("emergency", "", [{"entity": "emergency_level", "value": v}])
        for v in ("112", "116117", "crisis")
    ]
    routes += [
        route_of("report_symptom", "kipeä"),
        route_of("report_symptom", "", [{"entity": "age", "value": "2v"}]),
    ]
    for route in routes:
        reply = route_reply(route, ROUTES)
        assert reply.response in responses
        placeholders = set(re.findall(r"\{(\w+)\}", str(responses[reply.response])))
        assert placeholders <= set(reply.values), reply.response


def test_clarify_options_skip_unrouted_intents_and_fill_in_common_topics():
    ranking = [{"name": "nlu_fallback"}, {"name": "greet"}, {"name": "housing"}]
    options = clarify_options(ranking, ROUTES)
    assert options[0] == ("Asuminen", "housing")
    assert len(options) == 3


def test_consecutive_misses():
    assert consecutive_misses(["greet", "nlu_fallback", "nlu_fallback"]) == 2
    assert consecutive_misses(["nlu_fallback", "housing", "nlu_fallback"]) == 1
    assert consecutive_misses(["housing"]) == 0


def test_resolve_fallback_only_when_both_intents_share_a_route():
    same = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "housing", "confidence": 0.3},
        {"name": "debt_advice", "confidence": 0.25},
    ]
    assert resolve_fallback("nlu_fallback", same, ROUTES) == "housing"
    different = [{"name": "housing", "confidence": 0.3}, {"name": "dental_care", "confidence": 0.25}]
    assert resolve_fallback("nlu_fallback", different, ROUTES) == "nlu_fallback"
    weak = [{"name": "housing", "confidence": 0.2}, {"name": "debt_advice", "confidence": 0.2}]
    assert resolve_fallback("nlu_fallback", weak, ROUTES) == "nlu_fallback"
    assert resolve_fallback("dental_care", same, ROUTES) == "dental_care"


def test_a_doubt_with_a_symptom_that_the_message_names_is_a_symptom():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "physiotherapy", "confidence": 0.41},
        {"name": "report_symptom", "confidence": 0.38},
    ]
    assert resolve_fallback("nlu_fallback", ranking, ROUTES, "kuiva ärsytysyskä ei lopu") == "report_symptom"
    assert resolve_fallback("nlu_fallback", ranking, ROUTES, "treenit jäi kesken") == "nlu_fallback"
    third = [ranking[0], ranking[1], {"name": "housing", "confidence": 0.4}, ranking[2]]
    assert resolve_fallback("nlu_fallback", third, ROUTES, "kuiva yskä") == "nlu_fallback"


@pytest.mark.parametrize(
    ("text", "topic"),
    [("mun pitää perua huomenna oleva hammaslääkäriaika, miten teen sen", "cancel_appointment"),
     ("tarviinko siihen lähetteen lääkäriltä?", "referral"),
     ("oon maksanu jo paljon, eiks siinä oo joku katto?", "fees_ceiling"),
     ("miten teen muistutuksen", "complaint"),
     ("haluun tehdä valituksen, kotihoitaja ei käyny eilen", "complaint"),
     ("pitäis siirtää torstain labra-aika, en pääse sillon", "cancel_appointment"),
     ("ja sit vielä palautetta: odotin päivystyksessä 7 tuntia eikä kukaan kertonu mitään", "complaint"),
     ("haluan antaa palautetta", None),
     ("mun pitää perua huomenna oleva hammaslääkäriaika", None),
     ("tarviin perustoimeentulotukea", None)],
)  # fmt: skip
def test_a_question_with_an_answers_keywords_asks_for_that_answer(text, topic):
    assert answer_asked(text, default_routes()) == topic


@pytest.mark.parametrize(
    ("text", "vague"),
    [("hakemus", True), ("mun hakemus", True), ("hei tarviin apua", True),
     ("moi mul ois kysymys hakemuksesta", True), ("sit tarvisin apua mummon asiassa", True),
     ("äidin asia", True), ("mul on vähän semmonen asia et en tiiä kehen ottaa yhteyttä", True),
     ("isä", True), ("tytär 15v", True), ("poika 9", True),
     ("mummon kotihoito", False), ("kotihoito", False), ("hei", False), ("hakemus kotihoitoon", False),
     ("isä 80v kaatui", False)],
)  # fmt: skip
def test_a_message_that_names_no_matter_yet(text, vague):
    assert asks_vaguely(text, default_routes()) is vague


@pytest.mark.parametrize(
    ("text", "asks"),
    [("haluun et joku soittais mulle maanantaina", True), ("voiko laittaa viestin palveluneuvoon", True),
     ("jätä viesti fysioterapiaan", True), ("soitin jo 112", False), ("mun hammasta särkee", False)],
)  # fmt: skip
def test_a_wish_to_be_contacted(text, asks):
    assert asks_to_be_contacted(text, default_routes()) is asks


def _age_regexes() -> list[re.Pattern[str]]:
    """The ``age`` regexes of the training data, as Rasa's RegexEntityExtractor reads them."""
    data = yaml.safe_load((Path(__file__).parents[2] / "data" / "nlu" / "symptoms.yml").read_text("utf-8"))
    entry = next(item for item in data["nlu"] if item.get("regex") == "age")
    lines = [line[2:] for line in entry["examples"].splitlines() if line.startswith("- ")]
    return [re.compile(line, re.IGNORECASE) for line in lines]


@pytest.mark.parametrize(
    ("text", "years"),
    [("Minun tytär on 12 vuotta ja mahakipua", 12), ("tyttäreni on 9 v", 9), ("poika 7v yskii", 7)],
)
def test_a_childs_age_is_found_where_residents_write_it(text, years):
    found = [match.group() for pattern in _age_regexes() for match in pattern.finditer(text)]
    assert found and min(age_in_years(value) for value in found) == years


@pytest.mark.parametrize(
    ("text", "another"),
    [("ja sit toinen juttu, mulla on viisaudenhammas kipee", True),
     ("sitten kysyisin vielä että mistä näen verikokeet", True),
     ("ok. toinen juttu, voiko neuvola-aikoja varata netistä?", True),
     ("toinen lapsi on terve", False), ("entä jos hän ei suostu?", False),
     ("muuten kaikki ok, vauva liikkuu normaalisti", False)],
)  # fmt: skip
def test_a_message_that_opens_another_matter_outright(text, another):
    assert opens_another_matter(text, ROUTES) is another


MENTAL_HEALTH = Route("team", "mielenterveys_paihde")


@pytest.mark.parametrize(
    ("text", "new"),
    [("se on myös alkanu juomaan viikonloppuisin kavereiden kanssa", False),
     ("en oo nukkunu kunnolla viikkoihin, mies on töissä koko ajan", False),
     ("ja mä tarttisin itellekin apua jaksamiseen, itken joka päivä", True),
     ("mistä saa apua kun juon liikaa", True),
     ("entäs päihdepalvelut, voiko sinne mennä nimettömänä", True),
     ("oonks mä oikeessa paikassa, mä juon liikaa", True)],
)  # fmt: skip
def test_another_team_s_words_after_a_team_are_a_new_need_only_when_the_message_says_so(text, new):
    assert announces_a_new_need(text, MENTAL_HEALTH, ROUTES) is new


@pytest.mark.parametrize(
    "text",
    [
        "entä sen reseptit, pystynkö mä uusimaan niitä sen puolesta jotenki netissä",
        "ai niin, ja hänen reseptit. voinko mä hoitaa niitä omakannassa vaikka hän on täysi-ikäinen",
        "miten hoidan mummon reseptit kun hän ei pääse itse koneelle",
    ],
)
def test_another_persons_prescriptions_ask_the_on_behalf_answer(text):
    assert answer_asked(text, default_routes()) == "omakanta_on_behalf"


@pytest.mark.parametrize(
    "text",
    [
        "miten mä pääsen jälkikäteen näkee äidin hoitotiedot kun mä hoidan sen asioita",
        "voinko samalla uusia mieheni reseptin, ei se osaa näitä nettijuttuja",
        "voinko mä mummona nähdä sen rokotustiedot omakannasta",
        "miten mä nään mun 6v tytön verikokeiden tulokset, ne otettiin eilen",
    ],
)
def test_a_question_about_another_persons_records_asks_the_on_behalf_answer(text):
    assert answer_asked(text, default_routes()) == "omakanta_on_behalf"


@pytest.mark.parametrize(
    ("topic", "text", "given"),
    [("omakanta_prescription", "entä iskän reseptit, se ei osaa nettiä", "omakanta_on_behalf"),
     ("omakanta_results", "näkyykö lapsen labratulokset mulle", "omakanta_on_behalf"),
     ("omakanta_prescription", "miten uusin reseptin omakannassa", "omakanta_prescription"),
     # Another person named, but no record of theirs: the answer chosen stands.
     ("omakanta_results", "äiti sanoi että tulokset näkyy netissä, mistä mä ne löydän", "omakanta_results"),
     # Only the answers listed under ``instead_of`` give way.
     ("fees_ceiling", "paljonko äidin maksukatto on ja näkyykö se omakannassa", "fees_ceiling")],
)  # fmt: skip
def test_the_answer_about_another_persons_records_is_given_instead_of_ones_own(topic, text, given):
    assert answer_for(topic, text, default_routes()) == given


def test_a_complaint_about_a_parents_missed_medicines_is_the_complaint():
    text = "kotihoito ei käynyt ja äidin iltalääkkeet jäi ottamatta. haluan tehdä tästä valituksen"
    assert answer_asked(text, default_routes()) == "complaint"


def test_a_complaint_made_for_a_parent_is_not_the_on_behalf_answer():
    text = "voinko tehdä sen äidin puolesta, hänellä on muistisairaus"
    assert answer_asked(text, default_routes()) is None


def test_applying_for_another_who_cannot_use_the_net_is_not_the_omakanta_answer():
    text = "voinko mä tehdä sen hakemuksen vai pitääkö äidin ite? se ei osaa käyttää nettiä yhtään"
    assert answer_asked(text, default_routes()) is None


FAMILY = Route("team", "perhekeskus", {"label": "Perhekeskus"})


@pytest.mark.parametrize(
    ("text", "confidence", "own"),
    [
        ("ero tuli ja pitäis sopia lasten asumisesta ja tapaamisista", 0.99, True),
        ("se on myös alkanu riitelemään meidän kanssa joka ilta", 0.99, False),  # a pronoun points back
        ("pitääkö hakemus tehdä ennen vai vasta kun asunto on löytyny", 0.99, False),  # a question on it
        ("ero tuli ja pitäis sopia lasten asumisesta ja tapaamisista", 0.8, False),  # not sure enough
        ("ero tuli, mitä nyt", 0.99, False),  # too short to tell a matter
    ],
)
def test_a_matter_of_its_own_is_told_apart_from_more_of_the_same(text, confidence, own):
    assert tells_its_own_matter(text, FAMILY, confidence, ROUTES) is own


def test_a_childs_symptom_by_an_age_in_the_message_is_not_a_matter_of_its_own():
    child = Route("team", "terveysneuvo", {"reason": "child_symptom", "age": 0})
    text = "vauva on 3kk, erkauma on semmonen 3 sormen levyinen ja selkääki särkee"
    assert not tells_its_own_matter(text, child, 0.99, ROUTES)


def test_a_clauses_first_no_is_the_finnish_particle_not_a_denial():
    assert find_symptom("no selkä on kipee treenien jälkee", ROUTES.omaolo.symptoms).id == "back_pain"
    assert find_symptom("I have no fever", ROUTES.omaolo.symptoms) is None


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("voiks se ite soittaa johonki vai pitääks mun", True),
        ("soitanko itse vai soittaako joku teiltä?", True),
        ("ok soitan sinne. ja sit vielä, miten saisin kotihoitoa", False),
        ("soitettu, ne tulee. mistä saa apua juomiseen", False),
        ("voinko jättää soittopyynnön?", False),
    ],
)
def test_a_call_asked_about_is_told_from_a_call_made(text, asks):
    assert asks_about_calling(text) is asks


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("ok mut jos se ei aamulla oo parempi ni kenelle sit soitan?", True),
        ("ja päivällä voisko sinne mielenterveyspuolelle jutella jonkun kanssa", True),
        ("kotihoito tulee vasta aamulla, ei kai voi oottaa siihen?", False),
        ("en mä oo tekemässä mitään nyt, mut noita ajatuksia tulee usein illalla", False),
    ],
)
def test_whom_to_reach_at_a_later_hour_is_not_a_doubt_of_the_urgency(text, asks):
    assert asks_about_a_later_hour(text, ROUTES) is asks


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("Hän pärjää kyllä viikonlopun, käyn katsomassa häntä. Kiitos, hei.", True),
        ("Se on vielä kipeä. Kiitos, moikka!", True),
        ("Se on vielä kipeä. Kiitos.", False),
        ("kiitos hei", False),
    ],
)
def test_a_goodbye_at_the_end_of_a_longer_message(text, ends):
    assert ends_with_thanks_and_goodbye(text, ROUTES) is ends


def test_waiting_for_a_promised_call_is_no_request_for_one():
    assert not asks_to_be_contacted(
        "Voinko nähdä tulokset itse, vai pitääkö odottaa, että lääkäri soittaa?", ROUTES
    )
    assert asks_to_be_contacted("haluaisin että lääkäri soittaa mulle", ROUTES)


def test_where_is_asked():
    assert asks_where("mistä mä nään ne chatin aukioloajat")
    assert not asks_where("milloin chat aukeaa")
