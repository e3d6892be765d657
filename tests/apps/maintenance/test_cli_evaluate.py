"""``zhizao maintenance evaluate``: the headless evaluation from the command line, JSON on stdout."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from zhizao.apps.maintenance.cli import register

pytestmark = pytest.mark.slow


def test_evaluate_prints_the_figures_as_json() -> None:
    cli = typer.Typer()
    cli.command("noop")(lambda: None)
    register(cli)
    result = CliRunner().invoke(cli, ["maintenance", "evaluate", "--seed", "3", "--train-days", "1.5",
                                      "--eval-days", "1", "--sample-period-s", "60", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["seed"] == 3 and out["machines"] == 7 and set(out["models"]) >= {"cnc1", "mc1"}
    assert out["wear_failures"] > 0 and 0 <= out["share_wear_failures_warned"] <= 1
    assert out["warnings"]["true"] + out["warnings"]["preempted"] + out["warnings"]["false"] >= 1
