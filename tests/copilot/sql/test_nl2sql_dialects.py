"""Each dialect connects read-only, introspects (tables, types, keys, comments, join paths, cell values) and
answers the same question with the same rows."""

from __future__ import annotations

import os

import pytest
from tests.copilot.sql.conftest import NOW, gold, plants, same_rows

from zhizao.copilot.sql import DataInsight

PG = os.environ.get("NL2SQL_PG", "postgresql://postgres@127.0.0.1:5432")
MYSQL = os.environ.get("NL2SQL_MYSQL", "mysql://root@127.0.0.1:3306")
QUESTIONS = [
    ("上个月各区域的总产量", "SELECT r.area, SUM(b.output_kg) FROM batches b JOIN reactors r ON "
                    "b.reactor_id = r.reactor_id WHERE b.start_time >= '2024-06-01' AND b.start_time < '2024-07-01' "
                    "GROUP BY 1"),
    ("Output to input ratio for each reactor", "SELECT reactor_id, SUM(output_kg) / SUM(input_kg) FROM batches "
                                               "GROUP BY 1"),
    ("Monthly total output in 2024", "SELECT strftime(start_time, '%Y-%m'), SUM(output_kg) FROM batches GROUP BY 1"),
    ("2024年5月每天的总产量", "SELECT CAST(start_time AS DATE), SUM(output_kg) FROM batches WHERE start_time >= "
                       "'2024-05-01' AND start_time < '2024-06-01' GROUP BY 1"),
    ("What share of total output came from each area?",
     "SELECT r.area, SUM(b.output_kg) / SUM(SUM(b.output_kg)) OVER () FROM batches b JOIN reactors r ON "
     "b.reactor_id = r.reactor_id GROUP BY 1"),
]


def _url(dialect: str, tmp_path) -> str:
    if dialect == "duckdb":
        return plants.load("chem", "duckdb", str(tmp_path / "chem.duckdb"))
    if dialect == "sqlite":
        return plants.load("chem", "sqlite", str(tmp_path / "chem.sqlite"))
    try:
        return plants.load("chem", dialect, PG if dialect == "postgres" else MYSQL, database="zz_test_nl2sql")
    except Exception as error:  # noqa: BLE001 - no server here
        pytest.skip(f"{dialect} server not reachable: {error}")


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", pytest.param("postgres", marks=pytest.mark.services),
                                     pytest.param("mysql", marks=pytest.mark.services)])
def test_dialect_introspects_and_answers(dialect, tmp_path, plant_files):
    insight = DataInsight.from_url(_url(dialect, tmp_path), now=NOW)
    try:
        schema = insight.schema
        assert insight.db.dialect == dialect
        assert set(schema.tables) == {"reactors", "batches", "quality_tests", "material_usage"}
        batches = schema.tables["batches"]
        assert batches.primary_key == ["batch_id"]
        kinds = {c.name: c.kind for c in batches.columns}
        assert kinds["start_time"] == "timestamp" and kinds["output_kg"] == "float" and kinds["status"] == "text"
        assert batches.column("cycle_hours").comment == "batch cycle time in hours"
        if dialect != "sqlite":
            assert batches.comment == "production batches"
        assert sorted(batches.column("status").values) == ["aborted", "completed"]
        joins = {(j.left, j.left_column, j.right, j.right_column) for j in schema.joins}
        assert ("batches", "reactor_id", "reactors", "reactor_id") in joins
        assert ("quality_tests", "batch_id", "batches", "batch_id") in joins
        for question, sql in QUESTIONS:
            answer = insight.ask(question)
            assert answer.error is None, (dialect, question, answer.error)
            assert same_rows(answer.rows, gold(plant_files["chem"], sql)), (dialect, answer.sql, answer.rows[:3])
    finally:
        insight.close()


@pytest.mark.services
def test_postgres_schema_parameter_and_comments():
    """``?schema=`` picks a PostgreSQL schema (search_path); COMMENT ON is read."""
    pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG.replace("postgresql://", "postgresql+psycopg://") + "/test")
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS zz_nl2sql CASCADE"))
            c.execute(text("CREATE SCHEMA zz_nl2sql"))
            c.execute(text("CREATE TABLE zz_nl2sql.furnace (id TEXT PRIMARY KEY, temp_c DOUBLE PRECISION)"))
            c.execute(text("COMMENT ON COLUMN zz_nl2sql.furnace.temp_c IS '炉温'"))
            c.execute(text("INSERT INTO zz_nl2sql.furnace VALUES ('F1', 800), ('F2', 900)"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"postgres not reachable: {error}")
    insight = DataInsight.from_url(PG + "/test?schema=zz_nl2sql")
    try:
        assert insight.schema.tables["furnace"].column("temp_c").comment == "炉温"
        assert insight.ask("平均炉温").rows == [[850.0]]
    finally:
        insight.close()

