"""Database engine, sessions and migrations.

SQLAlchemy 1.4 in 2.0 style (``future=True``). On SQLite the database runs in
WAL mode and write transactions start with ``BEGIN IMMEDIATE``, so concurrent
writers wait for each other (busy timeout) instead of failing, while readers
never block. Within one process, SQLite writers also queue on a lock: SQLite
allows one writer at a time anyway, and its busy handler waits by sleeping
(up to 100 ms a try), which would make waits under load much longer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.pool import QueuePool

from handoff.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
_AFTER_COMMIT = "opastin_after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once ``session``'s transaction has committed; never if it rolls back.

    For effects outside the database that must not count what did not happen (metrics).
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")  # type: ignore[untyped-decorator]  # SQLAlchemy 1.4: no types
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, ()):
        try:
            action()
        except Exception:
            logger.exception("an action after commit failed")


@event.listens_for(Session, "after_transaction_end")  # type: ignore[untyped-decorator]  # SQLAlchemy 1.4
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without committing
        session.info.pop(_AFTER_COMMIT, None)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and explicit BEGIN (IMMEDIATE for write sessions)."""

    @event.listens_for(engine, "connect")  # type: ignore[untyped-decorator]  # SQLAlchemy 1.4: no types
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")  # type: ignore[untyped-decorator]  # SQLAlchemy 1.4: no types
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str) -> Engine:
    """Create an engine for ``url``; the SQLite file's directory is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, future=True, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        poolclass=QueuePool,
        hide_parameters=True,  # database errors in logs without the residents' texts
        pool_size=10,
        max_overflow=30,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
    )
    _configure_sqlite(engine)
    return engine


class Database:
    """An engine plus session factories for reading and for writing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        writer = self.engine.execution_options(sqlite_begin_immediate=True)
        self._read = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)
        self._write = sessionmaker(bind=writer, future=True, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads; closed (its transaction rolled back) at the end.

        Objects loaded through it stay readable after the block.
        """
        with self._read() as session:
            yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose transaction commits at the end, or rolls back on error.

        Do not nest write sessions in one thread: on SQLite the inner one would wait forever.
        """
        with self._write_lock or contextlib.nullcontext(), self._write() as session, session.begin():
            yield session

    def create_all(self) -> None:
        """Create the tables directly from the models (tests; production uses migrate)."""
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic configuration for ``url`` without an ini file.

    Alembic is imported here, not at the top: the running service never
    migrates, and Alembic with Mako costs it about 10 MB of memory.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest revision."""
    from alembic import command

    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
