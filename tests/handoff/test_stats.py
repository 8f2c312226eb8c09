"""The statistics report: the small-cell rule, percentiles to the bucket, and how a report is written out."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from datetime import date

from handoff.counting import bucket
from handoff.stats import (
    HIDDEN,
    NO_TEAM_NAME,
    TOTAL_NAME,
    Bucket,
    Row,
    as_dict,
    build_report,
    cell,
    csv_text,
    mean_rating,
    percentile,
    share,
)

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def test_counts_under_five_are_hidden_and_so_is_what_is_computed_from_them() -> None:
    assert [cell(n) for n in (0, 1, 4, 5, 12)] == [HIDDEN, HIDDEN, HIDDEN, 5, 12]
    assert share(4, 100) is None and share(5, 4) is None and share(0, 0) is None
    assert share(96, 100) is None  # the other 4 % would be known
    assert share(5, 10) == 0.5 and share(7, 21) == 0.333
    assert mean_rating({"5": 4}) is None and mean_rating({"5": 4, "1": 1}) == 4.2
    assert percentile({"60": 4}, 50) is None and percentile({"60": 5}, 50) == Bucket(60, 120)


def test_a_percentile_is_exact_to_the_edges_of_its_bucket() -> None:
    generator = random.Random(20260310)
    for size in (5, 6, 17, 100, 1001):
        values = sorted(generator.expovariate(1 / 600) for _ in range(size))
        histogram: dict[str, int] = {}
        for value in values:
            histogram[bucket(value)] = histogram.get(bucket(value), 0) + 1
        for percent in (50, 90):
            true = values[math.ceil(percent * size / 100) - 1]  # nearest rank
            found = percentile(histogram, percent)
            assert found is not None and found.from_s <= true
            assert found.to_s is None or true < found.to_s


def test_teams_come_in_the_catalogues_order_then_by_id_and_no_team_last() -> None:
    rows = [
        Row("", "conversations", "", 9),
        Row("zeta", "conversations", "", 6),
        Row("neuvola", "conversations", "", 5),
        Row("katilot", "conversations", "", 1),
        Row("neuvola", "handed_off", "", 5),
    ]
    report = build_report(rows, *JANUARY, team_order=("neuvola", "katilot"))
    assert [team.team for team in report.teams] == ["neuvola", "katilot", "zeta", NO_TEAM_NAME]
    assert report.total.team == TOTAL_NAME
    assert (report.total.conversations, report.total.handed_off, report.total.bot_only) == (21, 5, 16)
    assert (report.total.handover_rate, report.total.bot_only_share) == (0.238, 0.762)
    neuvola = report.teams[0]
    assert (neuvola.handover_rate, neuvola.bot_only, neuvola.bot_only_share) == (None, HIDDEN, None)


def test_top_routes_are_the_five_most_given() -> None:
    counts = {"team:neuvola": 30, "omaolo:https://omaolo.fi": 12, "form:contact_request": 7}
    counts |= {"answer:hours": 7, "webpage:https://example.fi": 6, "emergency:112": 2}
    rows = [Row("", "route", label, n) for label, n in counts.items()]
    report = build_report(rows, *JANUARY)
    assert report.total.top_routes == {
        "team:neuvola": 30,
        "omaolo:https://omaolo.fi": 12,
        "answer:hours": 7,
        "form:contact_request": 7,
        "webpage:https://example.fi": 6,
    }


def sample_rows() -> list[Row]:
    waits = {"0": 2, "60": 3, "300": 4, "600": 1}
    return [
        Row("neuvola", "conversations", "", 40),
        Row("neuvola", "handed_off", "", 12),
        *(Row("neuvola", "wait_accepted", label, n) for label, n in waits.items()),
        Row("neuvola", "wait_cancelled", "120", 2),
        Row("neuvola", "chat_duration", "600", 10),
        Row("neuvola", "feedback", "4", 6),
        Row("neuvola", "feedback", "5", 3),
        Row("neuvola", "emergency", "112", 1),
        Row("neuvola", "transfer", "perhekeskus", 5),
        Row("", "conversations", "", 3),
    ]


def test_csv_has_one_line_per_figure() -> None:
    lines = list(csv.reader(io.StringIO(csv_text(build_report(sample_rows(), *JANUARY)))))
    assert lines[0] == ["team", "measure", "value"]
    values = {(team, measure): value for team, measure, value in lines[1:]}
    assert values[("neuvola", "conversations")] == "40"
    assert values[("neuvola", "handover_rate")] == "0.3"
    assert values[("neuvola", "queue_wait.p50")] == "60-120"
    assert values[("neuvola", "queue_wait.p90")] == "300-600"
    assert values[("neuvola", "queue_wait.abandoned")] == HIDDEN
    assert values[("neuvola", "queue_wait.abandoned_p50")] == ""
    assert values[("neuvola", "feedback.mean")] == "4.33"
    assert values[("neuvola", "feedback.distribution.5")] == HIDDEN
    assert values[("neuvola", "emergencies.112")] == HIDDEN
    assert values[("neuvola", "transfers")] == "5"
    assert values[(NO_TEAM_NAME, "conversations")] == HIDDEN
    assert values[(TOTAL_NAME, "conversations")] == "43"
    assert {team for team, _ in values} == {"neuvola", NO_TEAM_NAME, TOTAL_NAME}


def test_json_keeps_the_same_figures() -> None:
    data = json.loads(json.dumps(as_dict(build_report(sample_rows(), *JANUARY))))
    assert (data["from"], data["to"]) == ("2026-01-01", "2026-01-31")
    neuvola = data["teams"][0]
    assert neuvola["team"] == "neuvola" and neuvola["handover_rate"] == 0.3
    assert neuvola["queue_wait"]["p50"] == {"from_s": 60, "to_s": 120}
    assert neuvola["queue_wait"]["abandoned"] == HIDDEN and neuvola["queue_wait"]["abandoned_p50"] is None
    assert neuvola["feedback"] == {
        "count": 9,
        "mean": 4.33,
        "distribution": {"1": HIDDEN, "2": HIDDEN, "3": HIDDEN, "4": 6, "5": HIDDEN},
    }
    assert data["total"]["conversations"] == 43 and data["total"]["bot_only_share"] == 0.721


def test_clarifying_questions_and_fallbacks_are_shares_of_the_conversations() -> None:
    rows = [
        Row("neuvola", "conversations", "", 40),
        Row("neuvola", "understanding", "clarify", 10),
        Row("neuvola", "understanding", "fallback", 3),
    ]
    neuvola = build_report(rows, *JANUARY).teams[0]

    assert (neuvola.clarified, neuvola.clarified_share) == (10, 0.25)
    assert (neuvola.not_understood, neuvola.not_understood_share) == (HIDDEN, None)
