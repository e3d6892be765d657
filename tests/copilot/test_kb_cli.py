"""``zhizao kb add`` / ``zhizao kb ask``: the batch CLI's exact output shape and its handling of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from zhizao.copilot.cli import register

MANUAL = ("# Gearbox G-20 service manual\n\n## Lubrication\n\nThe gearbox oil (ISO VG 220) is changed every "
          "4000 operating hours. Oil capacity is 12 litres.\n\n## Inspection\n\nCheck the breather every week.\n")


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_add_then_ask_prints_answer_and_citations(tmp_path: Path) -> None:
    (tmp_path / "gearbox.md").write_text(MANUAL, encoding="utf-8")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    kb = tmp_path / "kb"
    runner = CliRunner()
    added = runner.invoke(cli(), ["kb", "add", "--kb", str(kb), str(tmp_path / "broken.docx"),
                                  str(tmp_path / "gearbox.md"), "--classification", "public"])
    assert added.exit_code == 0, added.output
    assert "broken.docx" in added.stderr and "gearbox.md" in added.stdout

    result = runner.invoke(cli(), ["kb", "ask", "--kb", str(kb), "--json", "How much oil does the gearbox hold?"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert "12 litres" in out["answer"]
    assert out["citations"][0]["source"] == "gearbox.md" and "12 litres" in out["citations"][0]["text"]
    assert {"source", "text", "position"} <= set(out["citations"][0])


def test_nothing_added_and_empty_kb_fail(tmp_path: Path) -> None:
    runner = CliRunner()
    kb = tmp_path / "kb"
    assert runner.invoke(cli(), ["kb", "add", "--kb", str(kb), str(tmp_path / "none.md")]).exit_code == 1
    bad_level = runner.invoke(cli(), ["kb", "add", "--kb", str(kb), "x.md", "--classification", "top"])
    assert bad_level.exit_code == 2 and "classification" in bad_level.stderr
    asked = runner.invoke(cli(), ["kb", "ask", "--kb", str(kb), "--json", "anything?"])
    assert asked.exit_code == 1 and "error" in json.loads(asked.stdout)


def test_folders_are_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "sub" / "gearbox.md").write_text(MANUAL, encoding="utf-8")
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    runner = CliRunner()
    result = runner.invoke(cli(), ["kb", "add", "--kb", str(tmp_path / "kb"), str(tmp_path / "docs"), "--json"])
    assert result.exit_code == 0
    assert [a["source"] for a in json.loads(result.stdout)["added"]] == ["gearbox.md"]
    listed = runner.invoke(cli(), ["kb", "list", "--kb", str(tmp_path / "kb")])
    assert json.loads(listed.stdout)[0]["classification"] == "internal"
