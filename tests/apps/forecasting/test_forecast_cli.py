"""The batch CLI on a tiny M4-layout file: header, ragged rows, order, bad values, short and empty series."""

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from zhizao.cli import app

runner = CliRunner()


def seasonal(n: int, phase: int, level: float) -> list[str]:
    t = np.arange(n) + phase
    return [f"{level * (1 + 0.3 * np.sin(2 * np.pi * k / 6)) + 0.2 * k:.2f}" for k in t]


@pytest.fixture
def m4_file(tmp_path):
    rows = [
        ["s1", *seasonal(60, 0, 50)],
        ["s2", *seasonal(45, 2, 500)],
        ["s3", *seasonal(30, 1, 5), "oops", *seasonal(10, 1, 5)],  # a bad value on line 4, column 32
        ["s4", "7", "8"],  # too short for anything but a naive forecast
        ["s5", "NA", "", ""],  # nothing usable
        ["s0", *seasonal(80, 3, 20)],  # not sorted: output keeps input order
    ]
    width = max(len(r) for r in rows)
    path = tmp_path / "tiny.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow([f"V{i}" for i in range(1, width + 1)])
        for row in rows:
            writer.writerow(row + [""] * (width - len(row)))  # ragged rows padded as in M4 files
    return path


def test_forecast_cli_shape_order_and_problems(m4_file, tmp_path):
    out = tmp_path / "out.csv"
    bands = tmp_path / "bands.csv"
    result = runner.invoke(app, ["forecast", "--input", str(m4_file), "--format", "m4", "--horizon", "6",
                                 "--season", "6", "--output", str(out), "--models", "naive,snaive,theta,lgbm",
                                 "--intervals", str(bands), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["id", "F1", "F2", "F3", "F4", "F5", "F6"]
    assert [r[0] for r in rows[1:]] == ["s1", "s2", "s3", "s4", "s5", "s0"]
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert values.shape == (6, 6) and np.all(np.isfinite(values))
    assert np.all(values[3] > 6) and np.all(values[4] == 0)
    assert 400 < values[1].mean() < 700  # s2 keeps its scale
    assert "tiny.csv:4:32" in result.stderr and "'oops'" in result.stderr
    band_rows = list(csv.reader(bands.open()))
    assert len(band_rows) == 1 + 2 * 6 and band_rows[1][1] == "lo-90"
    lower, upper = np.array(band_rows[1][2:], float), np.array(band_rows[2][2:], float)
    assert np.all(lower <= values[0]) and np.all(values[0] <= upper)


def test_forecast_cli_rejects_bad_arguments(m4_file, tmp_path):
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["forecast", "--input", str(tmp_path / "missing.csv"), "--horizon", "3",
                                 "--output", str(out)])
    assert result.exit_code == 2 and "missing.csv" in result.stderr and "not found" in result.stderr
    result = runner.invoke(app, ["forecast", "--input", str(m4_file), "--horizon", "0", "--output", str(out)])
    assert result.exit_code == 2 and "horizon" in result.stderr
    result = runner.invoke(app, ["forecast", "--input", str(m4_file), "--horizon", "3", "--output", str(out),
                                 "--models", "prophet"])
    assert result.exit_code == 2 and "prophet" in result.stderr


def test_file_without_header_is_read(tmp_path):
    from zhizao.apps.forecasting.m4io import read_m4

    path = tmp_path / "plain.csv"
    path.write_text("a,1,2,3\nb,4,5\n\n,9\n")
    data = read_m4(path)
    assert data.ids == ["a", "b"] and data.values[1].tolist() == [4.0, 5.0]
    assert any(":4:" in p and "series id" in p for p in data.problems)
