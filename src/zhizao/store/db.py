"""Relational store (assets' companions: users, audit, alarms, downtime, orders...).

SQLAlchemy 2.0; SQLite in a local file by default, PostgreSQL by URL
(``postgresql://`` is read as ``postgresql+psycopg://``). Each app declares its tables
on ``Base`` in its own ``model.py``; the schema is built and upgraded by the alembic
revisions in ``zhizao.store.migrations`` (``Database.migrate``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def import_models() -> None:
    """Import the modules that declare tables, so that they register on ``Base``:
    the platform's own and every app's ``model`` module."""
    import importlib.util

    import zhizao.connect.model  # noqa: F401
    import zhizao.security.model  # noqa: F401
    from zhizao.apps import app_packages

    for package in app_packages():
        if importlib.util.find_spec(f"{package}.model") is not None:
            importlib.import_module(f"{package}.model")


class Database:
    def __init__(self, url: str) -> None:
        for scheme in ("postgresql://", "postgres://"):
            if url.startswith(scheme):
                url = "postgresql+psycopg://" + url.removeprefix(scheme)
        self.url = url
        kwargs: dict = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create the tables straight from the models (tests); the platform uses ``migrate``."""
        import_models()
        Base.metadata.create_all(self.engine)

    def migrate(self) -> None:
        """Upgrade the schema to the latest revision; a database made by ``create_all``
        before migrations existed is adopted (missing tables created, then stamped)."""
        from zhizao.store.migrations import upgrade

        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()
