"""The security tests use the handoff service's fixtures (databases, clock, app)."""

from tests.handoff.conftest import client, clock, database_url, db, settings, teams, teams_file  # noqa: F401
