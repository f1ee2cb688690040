"""Is the database ready to serve? Checked at start-up so a wrong ``STEK_DATABASE_URL`` stops the
server with a message instead of answering every request with "Internal Server Error"."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from store.db import database_url, make_engine
from store.migrate import alembic_config


class DatabaseNotReady(RuntimeError):
    """The database cannot serve stek; the message says why and what to do (Dutch)."""


def check_database(url: str | None = None) -> None:
    """Raise ``DatabaseNotReady`` when the database is unreachable, does not exist, or is not
    migrated to this stek's schema (the head revision)."""
    url = database_url(url)
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split())  # the driver's message on one line
        name = make_url(url).database
        if name and f'database "{name}" does not exist' in reason:
            raise DatabaseNotReady(
                f"De database {name!r} bestaat niet ({shown}). Maak hem aan (bijvoorbeeld "
                f"`createdb {name}`) en voer `stek db upgrade` uit."
            ) from exc
        raise DatabaseNotReady(
            f"De database is niet bereikbaar ({shown}). Controleer STEK_DATABASE_URL en of de "
            f"databaseserver draait. Melding: {reason}"
        ) from exc
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if revision is None:
        raise DatabaseNotReady(
            f"De database is leeg of niet gemigreerd ({shown}): voer `stek db upgrade` uit."
        )
    if revision != head:
        raise DatabaseNotReady(
            f"De database staat op schemaversie {revision}, deze stek verwacht {head} "
            f"({shown}): voer `stek db upgrade` uit."
        )
