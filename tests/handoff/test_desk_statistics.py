"""The statistics page of the desk (``/desk/tilastot``): who sees it, the period form, what it shows."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from handoff import agents, stats
from handoff.db import Database
from handoff.desk.statistics import decimal, number, percent, route_name, span
from handoff.stats import Bucket
from opastin.teams import Teams
from tests.handoff.conftest import TUESDAY_NOON, add_agent
from tests.handoff.live_support import CSRF_FIELD, PASSWORD
from tests.handoff.statistics_support import BOOKING, MARCH, SYMPTOM, seed_march
from tests.handoff.test_desk import login

JSON = {"Accept": "application/json"}


def add_account(db: Database, username: str, role: str) -> None:
    with db.writing() as session:
        agents.create_agent(session, username, PASSWORD, TUESDAY_NOON, role=role)


@pytest.fixture
def manager(client: TestClient, db: Database) -> TestClient:
    """The client, logged in as the manager "esko", with March's counts in the database."""
    add_account(db, "esko", "manager")
    seed_march(db)
    login(client, "esko")
    return client


def row(html: str, name: str) -> str:
    """The table row whose header cell is the link or text ``name``."""
    found = re.search(
        rf"<tr[^>]*>\s*<th scope=\"row\">(?:<a [^>]*>)?{re.escape(name)}(?:</a>)?</th>.*?</tr>", html, re.S
    )
    assert found, f"no row {name!r}"
    return found.group(0)


def test_managers_and_administrators_see_the_statistics_and_agents_do_not(
    client: TestClient, db: Database
) -> None:
    add_account(db, "esko", "manager")
    add_account(db, "paakayttaja", "admin")
    add_agent(db, "maija", ["neuvola"])
    assert client.get("/desk/tilastot", follow_redirects=False).headers["location"] == "/desk/login"
    assert client.get("/desk/tilastot/csv", headers=JSON).status_code == 401

    login(client, "maija")
    assert 'href="/desk/tilastot"' not in client.get("/desk").text
    for path in ("/desk/tilastot", "/desk/tilastot/csv", "/desk/tilastot/kuukausiraportti"):
        refused = client.get(path)
        assert refused.status_code == 403 and "ei ole käytössä käyttäjäroolillasi" in refused.text
    assert client.get("/desk/tilastot", headers=JSON).json()["error"]["code"] == "wrong_role"

    client.cookies.clear()
    login(client, "paakayttaja")
    assert 'href="/desk/tilastot"' in client.get("/desk").text
    assert client.get("/desk/tilastot").status_code == 200

    client.cookies.clear()
    form = client.get("/desk/login")
    token = CSRF_FIELD.search(form.text).group(1)
    logged_in = client.post(
        "/desk/login",
        data={"username": "esko", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert logged_in.headers["location"] == "/desk/tilastot"  # a manager's front page
    assert client.get("/desk?notice=password", follow_redirects=False).headers["location"] == (
        "/desk/tilastot?notice=password"
    )
    page = client.get("/desk/tilastot")
    assert page.status_code == 200 and "<h1>Tilastot: maaliskuu 2026</h1>" in page.text
    assert 'href="/desk/tilastot"' in page.text and "Takaisin työpöydälle" not in page.text


def test_a_manager_never_reaches_queues_conversations_or_contact_requests(
    client: TestClient, db: Database
) -> None:
    add_account(db, "esko", "manager")
    csrf = login(client, "esko")
    for path in (
        "/desk/fragments/overview",
        "/desk/conversations/c1",
        "/desk/teams/neuvola/contact-requests",
    ):
        assert client.get(path, headers=JSON).status_code == 403, path
    for path, fields in (
        ("/desk/presence", {"team": "neuvola", "present": "1"}),
        ("/desk/accept", {"team": "neuvola"}),
        ("/desk/conversations/c1/messages", {"text": "Hei"}),
        ("/desk/contact-requests/1/handled", {}),
        ("/desk/admin/accounts/esko/activate", {}),
    ):
        response = client.post(path, data={"csrf_token": csrf, **fields}, headers=JSON)
        assert response.status_code == 403, path
    assert client.post("/desk/password", data={"csrf_token": csrf}, headers=JSON).status_code == 400  # may


def test_the_page_shows_the_reports_figures_with_small_counts_hidden(manager: TestClient) -> None:
    page = manager.get("/desk/tilastot", params={"period": "month", "day": "2026-03-15"}).text
    neuvola = row(page, "Neuvola")
    assert ">42<" in neuvola and ">17<" in neuvola and "40,5" in neuvola and "59,5" in neuvola
    katilot = row(page, "Kätilöt")
    assert katilot.count("&lt; 5") == 3 and katilot.count("ei laskettu") == 2
    assert ">80,0" in row(page, "Terveysneuvo")  # 20 of 25; the 5 with the bot alone are shown
    assert "Ei tiimiä (botti ei ohjannut tiimille)" in page and "Kaikki tiimit yhteensä" in page
    assert f"Omaolo-oirearvio: {SYMPTOM.name}" in page and f"Verkkosivu: {BOOKING.label}" in page
    assert "Tiimi: Neuvola" in page and "Omaolon etusivu" in page and "Lomake: yhteydenottopyyntö" in page
    assert SYMPTOM.url not in page and BOOKING.url not in page
    assert "Varmistuskysymys mahdollisesta hädästä" in page
    assert "2–3 min" in page and "10–15 min" in page  # the neuvola waits' p50 and chats' p90
    assert 'role="img"' in page and "<desc id=" in page and "Neuvola: 42" in page
    assert "<script" not in page.split("</main>")[0]  # charts drawn on the server


def test_one_team_and_one_day(manager: TestClient) -> None:
    day = manager.get("/desk/tilastot", params={"period": "day", "day": "10.3.2026", "team": "neuvola"})
    assert "<h1>Tilastot: Neuvola, 10.3.2026</h1>" in day.text
    assert ">12<" in row(day.text, "Keskustelut") and "Kätilöt" not in day.text.split("stats-notes")[1]
    assert "period=day&amp;day=2026-03-09&amp;team=neuvola" in day.text  # the day before
    week = manager.get("/desk/tilastot", params={"period": "week", "day": "2026-03-04"}).text
    assert "viikko 10/2026 (2.3.–8.3.2026)" in week
    empty = manager.get("/desk/tilastot", params={"period": "month", "day": "2026-04-01"}).text
    assert "Tältä jaksolta ei ole tilastoja." in empty


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "custom", "from": "2026-03-10", "to": "2026-03-01"}, "Alkupäivän pitää olla ennen"),
        ({"period": "custom", "from": "2025-01-01", "to": "2026-01-02"}, "Valitse enintään 366 päivää"),
        ({"period": "custom", "from": "2026-03-10"}, "Valitse oman aikavälin alkupäivä ja loppupäivä"),
        ({"period": "day", "day": "2026-02-30"}, "Tarkista päivämäärä"),
        ({"period": "year"}, "Valitse jakso: päivä, viikko, kuukausi tai oma aikaväli"),
        ({"team": "hammas"}, "Valitse tiimi luettelosta"),
    ],
)
def test_a_period_or_team_that_cannot_be_shown_is_explained(
    manager: TestClient, query: dict[str, str], message: str
) -> None:
    for path in ("/desk/tilastot", "/desk/tilastot/csv"):
        response = manager.get(path, params=query)
        assert response.status_code == 400 and message in response.text
        assert 'role="alert"' in response.text and "Kaikki tiimit yhteensä" not in response.text


def test_a_whole_leap_year_is_one_range(manager: TestClient) -> None:
    response = manager.get(
        "/desk/tilastot", params={"period": "custom", "from": "2028-01-01", "to": "2028-12-31"}
    )
    assert response.status_code == 200 and "Tilastot: 1.1.2028–31.12.2028" in response.text


def test_the_csv_is_the_reports(manager: TestClient, db: Database, teams) -> None:
    response = manager.get("/desk/tilastot/csv", params={"period": "month", "day": "2026-03-01"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="opastin-tilastot-2026-03-01-2026-03-31.csv"'
    )
    with db.reading() as session:
        expected = stats.csv_text(stats.build_report(stats.load_rows(session, *MARCH), *MARCH, teams.ids))
    assert response.text == expected
    assert "katilot,conversations,< 5" in response.text and "neuvola,conversations,42" in response.text
    one = manager.get(
        "/desk/tilastot/csv", params={"period": "month", "day": "2026-03-01", "team": "katilot"}
    )
    assert one.headers["content-disposition"].endswith('-2026-03-31-katilot.csv"')
    assert "neuvola" not in one.text and "(total),conversations,< 5" in one.text


def test_the_printable_monthly_report(manager: TestClient) -> None:
    page = manager.get("/desk/tilastot/kuukausiraportti", params={"month": "2026-03", "team": ""})
    assert page.status_code == 200
    assert "<h1>Kuukausiraportti: maaliskuu 2026</h1>" in page.text
    assert "Raportti tehty 10.3.2026 klo 12.30." in page.text
    assert "/static/desk/statistics.css" in page.text and ">42<" in row(page.text, "Neuvola")
    assert "<form" not in page.text.split("</header>")[1]  # nothing to fill in on paper
    wrong = manager.get("/desk/tilastot/kuukausiraportti", params={"month": "2026-13"})
    assert wrong.status_code == 400 and "Tarkista kuukausi" in wrong.text


def test_figures_are_written_the_finnish_way() -> None:
    assert (number(1234), number(stats.HIDDEN)) == ("1\u00a0234", "< 5")
    assert (percent(0.405), decimal(4.5), percent(None), decimal(None)) == ("40,5\u00a0%", "4,50", None, None)
    buckets = [Bucket(0, 30), Bucket(30, 60), Bucket(60, 120), Bucket(3600, 5400), Bucket(7200, None)]
    assert [span(bucket) for bucket in buckets] == [
        "alle 30 s",
        "30–60 s",
        "1–2 min",
        "60–90 min",
        "vähintään 120 min",
    ]


def test_a_route_is_named_where_its_name_is_known_and_keeps_its_target_otherwise(teams: Teams) -> None:
    assert route_name("answer:omakanta_prescription", teams) == "Lyhyt vastaus: Reseptin uusiminen"
    assert route_name("person:offered", teams) == "Ammattilaisen tarjoaminen: ammattilainen tarjolla"
    assert route_name("emergency:116117", teams) == "Hätäohje: Päivystysapu 116 117"
    assert route_name("team:lakkautettu", teams) == "Tiimi: lakkautettu"
    assert route_name("webpage:https://example.fi/uusi", teams) == "Verkkosivu: https://example.fi/uusi"
    assert route_name("chat:x", teams) == "chat: x"
