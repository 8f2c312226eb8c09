"""Alembic environment of the handoff service.

``python -m handoff migrate`` passes an open connection in
``config.attributes["connection"]``. When Alembic is run by hand
(``alembic -c handoff/migrations/alembic.ini ...``), the URL comes from the
handoff settings (``DATABASE_URL``).
"""

from alembic import context

from handoff.db import create_db_engine
from handoff.models import Base
from handoff.settings import Settings

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the given connection, or on a new one from the settings."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = create_db_engine(url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against a database.")
run_migrations_online()
