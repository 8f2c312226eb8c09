"""Daily counts of March 2026 for the statistics page's tests (the unit tests and the browser test)."""

from __future__ import annotations

from datetime import date

from handoff.db import Database
from handoff.models import DailyCount
from opastin.routes import default_routes

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 10)
SYMPTOM = default_routes().omaolo.symptoms[0]
BOOKING = default_routes().pages["booking"]

# (day, team, measure, label, count); counts under five must come out as "< 5".
COUNTS = [
    (MONDAY, "neuvola", "conversations", "", 30),
    (TUESDAY, "neuvola", "conversations", "", 12),
    (MONDAY, "neuvola", "handed_off", "", 17),
    (MONDAY, "neuvola", "route", "team:neuvola", 30),
    (MONDAY, "neuvola", "route", f"omaolo:{SYMPTOM.url}", 8),
    (MONDAY, "neuvola", "route", f"webpage:{BOOKING.url}", 6),
    (MONDAY, "neuvola", "route", "form:contact_request", 3),
    (MONDAY, "neuvola", "route", "emergency:confirm", 6),
    (MONDAY, "neuvola", "emergency", "confirm", 6),
    (MONDAY, "neuvola", "emergency", "112", 2),
    (MONDAY, "neuvola", "wait_accepted", "60", 5),
    (MONDAY, "neuvola", "wait_accepted", "120", 6),
    (MONDAY, "neuvola", "wait_accepted", "300", 3),
    (MONDAY, "neuvola", "wait_cancelled", "30", 4),
    (MONDAY, "neuvola", "chat_duration", "300", 7),
    (MONDAY, "neuvola", "chat_duration", "600", 5),
    (MONDAY, "neuvola", "contact_request", "", 6),
    (MONDAY, "neuvola", "feedback", "5", 8),
    (MONDAY, "neuvola", "feedback", "4", 3),
    (MONDAY, "neuvola", "feedback", "1", 1),
    (MONDAY, "neuvola", "transfer", "katilot", 2),
    (MONDAY, "katilot", "conversations", "", 3),
    (MONDAY, "katilot", "handed_off", "", 1),
    (MONDAY, "terveysneuvo", "conversations", "", 25),
    (MONDAY, "terveysneuvo", "handed_off", "", 20),
    (MONDAY, "", "conversations", "", 12),
    (MONDAY, "", "route", f"omaolo:{default_routes().omaolo.front_page}", 7),
]


def seed_march(database: Database) -> None:
    """Write :data:`COUNTS` to ``daily_counts``."""
    with database.writing() as session:
        for day, team, metric, label, value in COUNTS:
            session.add(DailyCount(day=day, team_id=team, metric=metric, label=label, value=value))
