"""The sample factory database of ../shared/data/copilot and its questions (skipped when the data is absent)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.copilot.sql.conftest import NOW, same_rows

SAMPLE = Path(os.environ.get("ZHIZAO_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data")) / "copilot"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    if not (SAMPLE / "factory.sql").exists():
        pytest.skip(f"sample data not found in {SAMPLE} (set ZHIZAO_SHARED_DATA)")
    import duckdb

    from zhizao.copilot.sql import DataInsight

    path = tmp_path_factory.mktemp("factory") / "factory.duckdb"
    con = duckdb.connect(str(path))
    con.execute((SAMPLE / "factory.sql").read_text(encoding="utf-8"))
    con.close()
    insight = DataInsight.from_url(f"duckdb:///{path}", now=NOW)
    yield insight
    insight.close()


def test_sample_questions(factory):
    questions = [json.loads(line) for line in (SAMPLE / "factory_questions.jsonl").read_text(encoding="utf-8")
                 .splitlines() if line.strip()]
    wrong = []
    for q in questions:
        answer = factory.ask(q["question"])
        if answer.error or not same_rows(answer.rows, q["rows"]):
            wrong.append((q["id"], answer.sql or answer.error))
    assert not wrong, wrong


def test_sample_comments_and_cell_values_are_read(factory):
    machines = factory.schema.tables["machines"]
    assert machines.comment.startswith("设备台账")
    assert machines.column("line").values == ["L1", "L2"]
    assert "故障 breakdown" in factory.schema.tables["downtime_events"].column("reason").values
