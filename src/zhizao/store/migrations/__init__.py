"""Alembic migrations of the relational store, configured in code (no alembic.ini needed).

``upgrade(engine)`` brings a database to the latest revision (``Database.migrate`` calls
it at platform start, for SQLite and PostgreSQL alike). An app's tables are a branch of
their own off revision 0001 (``down_revision = "0001"``, ``branch_labels = ("<app>",)``),
so apps add tables without depending on each other; ``upgrade`` applies every branch. The first revision creates only
the tables and indexes that are missing, so databases made by ``create_all`` before
migrations existed are adopted rather than refused. When the models change, write a new
revision with ``python -m zhizao.store.migrations revision -m "what changed"`` and review it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic configuration on this folder; ``env.py`` runs on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several platform nodes may start together: one migrates, the others wait and find it done.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('zhizao.migrations'))"))
        command.upgrade(alembic_config(conn), revision)


def heads() -> set[str]:
    """The latest revisions: one per branch (each app's tables are a branch off the initial schema)."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current(engine: Engine) -> set[str]:
    """The database's revisions (empty before the first migration)."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def differences(engine: Engine) -> list:
    """What the models declare that the database lacks or has otherwise ([] when they match)."""
    from zhizao.store.db import Base, import_models

    import_models()
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
