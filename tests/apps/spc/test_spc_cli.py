"""``zhizao spc chart`` on exported values."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from zhizao.cli import app


def test_chart_json_with_a_shift(tmp_path):
    values = np.concatenate([10 + np.random.default_rng(4).standard_normal(100), [14.5, 10.2]])
    file = tmp_path / "bores.csv"
    file.write_text("ts,diameter\n" + "\n".join(f"{i},{v:.4f}" for i, v in enumerate(values)))
    result = CliRunner().invoke(app, ["spc", "chart", str(file), "--chart", "imr", "--baseline", "100",
                                      "--lsl", "6", "--usl", "14", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["baseline"]["count"] == 100 and out["series"][0]["kind"] == "i"
    assert {"index": 100, "rule": 1, "start": 100} in out["series"][0]["violations"]
    assert out["capability"]["out_of_spec"] == 1 and out["capability"]["cp"]["value"] > 1


def test_bad_line_is_named(tmp_path):
    file = tmp_path / "v.txt"
    file.write_text("1.0\n2.0\nabc\n")
    result = CliRunner().invoke(app, ["spc", "chart", str(file)])
    assert result.exit_code == 2 and "v.txt:3" in result.stderr
