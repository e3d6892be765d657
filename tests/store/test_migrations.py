"""The relational store is built by alembic migrations, on SQLite and on PostgreSQL, and the
migrated schema is exactly what the models declare."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from tests.conftest import make_settings
from tests.store.pg_helpers import PG_URL, admin, historian_url, require_pg, schema_prefix

from zhizao.store.db import Base, Database, import_models
from zhizao.store.migrations import alembic_config, current, differences, heads
from zhizao.store.migrations import upgrade as upgrade_engine

HEAD = heads()

pg = pytest.mark.services


@pytest.fixture
def pg_database():
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    require_pg()
    name = f"zhizao_t_{uuid.uuid4().hex[:12]}"
    with admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))
    finally:
        with admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pg)])
def database(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'z.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_database")
    db = Database(url)
    yield db
    db.close()


def sample(column: sa.Column, k: int):
    """A value of the column's type (1 for integer keys, so foreign keys find their parent row)."""
    t = column.type
    if isinstance(t, sa.Boolean):
        return True
    if isinstance(t, sa.BigInteger):
        return 1 if column.primary_key or column.foreign_keys else 2**40 + k
    if isinstance(t, sa.Integer):
        return 1
    if isinstance(t, sa.Float):
        return 1.5
    if isinstance(t, sa.DateTime):
        return datetime(2025, 6, 15, 8, 30, 5)
    if isinstance(t, sa.JSON):
        return {"k": [1, "二", None]}
    if isinstance(t, sa.String):  # also Text
        return f"值{k}"[: t.length or 100]
    raise AssertionError(f"no sample for {column.table.name}.{column.name} of type {t!r}")


def test_upgrade_from_empty_matches_the_models(database):
    database.migrate()
    assert current(database.engine) == HEAD
    assert differences(database.engine) == [], (
        "the models differ from the migrations: write a revision with "
        "`python -m zhizao.store.migrations revision -m '...'`")
    database.migrate()  # again: nothing to do
    assert current(database.engine) == HEAD


def test_every_table_round_trips(database):
    """A row in every table, with values of every column type, reads back unchanged."""
    database.migrate()
    import_models()
    rows = {}
    with database.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:  # parents first
            row = {c.name: sample(c, k) for k, c in enumerate(table.columns)}
            conn.execute(table.insert().values(row))
            rows[table.name] = row
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            assert dict(conn.execute(select(table)).one()._mapping) == rows[table.name], table.name
    assert set(rows) == set(inspect(database.engine).get_table_names()) - {"alembic_version"}


def test_database_made_by_create_all_is_adopted(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url)
    import_models()
    users = Base.metadata.tables["users"]
    # A database from before some tables existed: only users, with a row to keep.
    Base.metadata.create_all(old.engine, tables=[users])
    with old.engine.begin() as conn:
        conn.execute(users.insert().values(id=7, username="wang", display_name="", role="admin",
                                           password_hash="x", active=True, created_at=datetime(2025, 1, 1)))
    old.close()

    db = Database(url)
    db.migrate()
    assert current(db.engine) == HEAD and differences(db.engine) == []
    with db.engine.connect() as conn:
        assert conn.execute(select(users.c.username)).scalars().all() == ["wang"]
    db.close()

    full = Database(f"sqlite:///{tmp_path / 'full.db'}")
    full.create_all()  # every table already there: the migration only stamps it
    full.migrate()
    assert current(full.engine) == HEAD and differences(full.engine) == []
    full.close()


def test_downgrade_to_empty_and_up_again(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'z.db'}")
    db.migrate()
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
    assert current(db.engine) == set()
    upgrade_engine(db.engine)
    assert differences(db.engine) == []
    db.close()


@pg
def test_nodes_starting_together_migrate_once(pg_database):
    dbs = [Database(pg_database.replace("postgresql://", "postgres://")) for _ in range(3)]
    errors: list[Exception] = []

    def run(db: Database) -> None:
        try:
            db.migrate()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert dbs[0].url.startswith("postgresql+psycopg://")
    assert current(dbs[0].engine) == HEAD and differences(dbs[0].engine) == []
    for db in dbs:
        db.close()


@pg
def test_platform_on_postgresql(pg_database, tmp_path):
    """The platform with both stores on PostgreSQL: migrated at start, users, tokens, audit,
    the historian behind the API."""
    from zhizao.api.app import create_app

    with schema_prefix() as prefix:
        settings = make_settings(tmp_path, database_url=pg_database, historian_url=historian_url(f"{prefix}_h"))
        app = create_app(settings)
        platform = app.state.platform
        assert current(platform.db.engine) == HEAD
        platform.security.add_user("li", "correct-horse-9", "admin")
        with TestClient(app) as client:
            assert client.post("/api/auth/login", json={"username": "li", "password": "correct-horse-9"}
                               ).status_code == 200
            assert client.get("/api/auth/me").json()["username"] == "li"  # the session token, from PostgreSQL
            audit = client.get("/api/audit").json()
            health = client.get("/api/health").json()
            path = platform.ctx.plant.tags()[0].path
            assert client.get(f"/api/tags/{path}/history").status_code == 200
        assert any(e["target"] == "/api/auth/login" and e["username"] == "li" for e in audit), audit
        assert health["historian"]["backend"] == "postgresql" and health["historian"]["available"]
