"""``zhizao ask``: JSON on stdout, exit code 0 with an answer, 1 with {"error": ...}."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from zhizao.copilot.sql import register


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer from collapsing the app into ``ask``
        pass

    return app


def test_ask_prints_the_answer_as_json(plant_files):
    result = CliRunner().invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--now", "2024-07-01",
                                         "--json", "上个月各产线的计划达成率"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"sql", "columns", "rows", "chart", "summary"}
    assert "2024-06-01" in data["sql"] and len(data["rows"]) == 4
    assert all(0.5 < row[1] < 1.2 for row in data["rows"])


def test_ask_fails_with_an_error_object_and_exit_code_1(plant_files, tmp_path):
    runner = CliRunner()
    not_understood = runner.invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--json", "天气怎么样"])
    assert not_understood.exit_code == 1 and json.loads(not_understood.stdout)["error"].startswith("不理解")
    missing = runner.invoke(_cli(), ["ask", "--db", f"sqlite:///{tmp_path}/none.db", "--json", "x"])
    assert missing.exit_code == 1 and "not found" in json.loads(missing.stdout)["error"]
    bad_now = runner.invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--now", "July",
                                     "--json", "x"])
    assert bad_now.exit_code == 1 and "--now" in json.loads(bad_now.stdout)["error"]
    glossary = tmp_path / "g.yaml"
    glossary.write_text("synonyms:\n  产出: nosuch_table.x\n", encoding="utf-8")
    bad_glossary = runner.invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--glossary",
                                          str(glossary), "--json", "x"])
    assert bad_glossary.exit_code == 1 and "synonyms.产出" in json.loads(bad_glossary.stdout)["error"]


def test_glossary_metric_and_synonym(plant_files, tmp_path):
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text(
        "synonyms:\n  出箱: shengchan_jilu.shiji_xiangshu\n"
        "metrics:\n  良品率:\n    table: shengchan_jilu\n"
        "    sql: 1.0 - SUM(feipin_shu) * 1.0 / SUM(shiji_xiangshu)\n    synonyms: [good rate]\n",
        encoding="utf-8")
    runner = CliRunner()
    metric = runner.invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--glossary", str(glossary),
                                    "--json", "各产线的良品率"])
    data = json.loads(metric.stdout)
    assert metric.exit_code == 0 and "1.0 - SUM(feipin_shu)" in data["sql"] and len(data["rows"]) == 4
    synonym = runner.invoke(_cli(), ["ask", "--db", f"duckdb:///{plant_files['food']}", "--glossary", str(glossary),
                                     "--json", "PL01的出箱合计"])
    assert synonym.exit_code == 0 and "SUM(shiji_xiangshu)" in json.loads(synonym.stdout)["sql"]
