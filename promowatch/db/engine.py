"""Opening a database: the engine, SQLite pragmas, and migration to the newest schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from promowatch.config import mask_urls
from promowatch.run import EXIT_BAD_INPUT, EXIT_FAILED, RunError

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (evaluate, export) run while a crawl writes; busy_timeout makes concurrent
    # writers from several crawl processes wait for each other instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` with the pragmas promowatch relies on."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


# any constant, the same in every promowatch process: PostgreSQL's lock for "migrating now"
_MIGRATION_LOCK = 0x70726F6D6F


def upgrade(engine: Engine) -> None:
    """Bring an empty or older database up to the newest schema.

    Several crawl processes may start at once on a new database: on PostgreSQL they queue on an advisory
    lock; on SQLite the loser of the race finds the schema made by the winner.
    """
    if is_current(engine):
        return
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
        try:
            if not is_current(engine):
                command.upgrade(alembic_config(engine), "head")
        except DBAPIError:
            if not is_current(engine):
                raise
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()


def shown_url(url: str) -> str:
    """A database URL fit for an error message: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return mask_urls(url)


def driver_reason(error: DBAPIError) -> str:
    """The first line of the database driver's message, or the error's type when the driver says nothing."""
    lines = str(error.orig or "").strip().splitlines()
    return lines[0] if lines else type(error).__name__


def open_database(url: str) -> sessionmaker[Session]:
    """Create the engine, migrate, and return a session factory.

    Raises RunError: a URL SQLAlchemy cannot use is bad input; a database server that cannot be reached, an
    outside service down. An SQLite file that cannot be opened is bad input (its directory is missing or not
    writable)."""
    try:
        engine = create_db_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise RunError(f"database URL {shown_url(url)}: cannot be used ({error})", EXIT_BAD_INPUT) from None
    except ImportError as error:
        extra = (
            "; install it with: pip install 'promowatch[postgres]'" if "psycopg" in str(error.name) else ""
        )
        raise RunError(
            f"database URL {shown_url(url)}: its driver is not installed ({error.name}){extra}",
            EXIT_BAD_INPUT,
        ) from None
    try:
        upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        reason = driver_reason(error)
        code = EXIT_BAD_INPUT if engine.dialect.name == "sqlite" else EXIT_FAILED
        raise RunError(f"database {shown_url(url)}: cannot be opened: {reason}", code) from None
    return sessionmaker(engine, expire_on_commit=False)


def close_database(sessions: sessionmaker[Session]) -> None:
    """Dispose of the engine behind ``sessions``: its pooled connections are closed (SQLite then folds its
    write-ahead log back into the database file)."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine):
        bind.dispose()
