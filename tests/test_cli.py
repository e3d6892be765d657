from typer.testing import CliRunner

from zhizao.assets.loader import demo_plant_text
from zhizao.cli import app

runner = CliRunner()


def test_user_add_list_and_refusals(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    r = runner.invoke(app, ["user", "add", "alice", "--role", "engineer", "--password", "long-enough-1", *data])
    assert r.exit_code == 0, r.output
    assert "alice\tengineer" in runner.invoke(app, ["user", "list", *data]).output
    r = runner.invoke(app, ["user", "add", "alice", "--role", "engineer", "--password", "long-enough-1", *data])
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(app, ["user", "add", "bob", "--role", "boss", "--password", "long-enough-1", *data])
    assert r.exit_code == 1 and "role" in r.output
    r = runner.invoke(app, ["user", "token", "alice", *data])
    assert r.exit_code == 0 and r.output.startswith("zt_")


def test_plant_validate_import_export(tmp_path):
    good = tmp_path / "plant.yaml"
    good.write_text(demo_plant_text())
    r = runner.invoke(app, ["plant", "validate", str(good)])
    assert r.exit_code == 0 and "ok" in r.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(demo_plant_text().replace("ideal_cycle_s: 50", "ideal_cycle_s: fast"))
    r = runner.invoke(app, ["plant", "validate", str(bad)])
    assert r.exit_code == 1
    assert f"{bad} line " in r.output and "ideal_cycle_s" in r.output

    data = tmp_path / "data"
    assert runner.invoke(app, ["plant", "import", str(good), "--data-dir", str(data)]).exit_code == 0
    out = tmp_path / "out.yaml"
    assert runner.invoke(app, ["plant", "export", "--out", str(out), "--data-dir", str(data)]).exit_code == 0
    assert runner.invoke(app, ["plant", "validate", str(out)]).exit_code == 0
