"""Plant databases for the NL→SQL tests, built from the benchmark's own plants (benchmarks/nl2sql/plants.py)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks" / "nl2sql"))

import plants  # noqa: E402

from zhizao.copilot.sql.db import plain  # noqa: E402

NOW = date(2024, 7, 1)


@pytest.fixture(scope="session")
def plant_files(tmp_path_factory) -> dict[str, str]:
    """DuckDB files of the chem (English comments), food (pinyin + Chinese comments) and smt (abbreviations,
    no comments) plants: name → path."""
    folder = tmp_path_factory.mktemp("plants")
    files = {}
    for name in ("chem", "food", "smt"):
        path = str(folder / f"{name}.duckdb")
        plants.load(name, "duckdb", path)
        files[name] = path
    return files


@pytest.fixture(scope="session")
def insights(plant_files):
    """DataInsight per plant (schema loaded once)."""
    from zhizao.copilot.sql import DataInsight

    made = {name: DataInsight.from_url(f"duckdb:///{path}", now=NOW) for name, path in plant_files.items()}
    yield made
    for insight in made.values():
        insight.close()


def gold(path: str, sql: str) -> list[list]:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        return [[plain(v) for v in row] for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def same_rows(got: list[list], expected: list[list], ordered: bool = False) -> bool:
    def canon(row):
        return tuple(round(float(v), 6) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                     for v in row)

    a = [canon(r) for r in got]
    b = [canon(r) for r in expected]
    return a == b if ordered else sorted(a, key=repr) == sorted(b, key=repr)
