"""``zhizao schedule solve``: JSON shape, indices, exit codes (the command as users run it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from zhizao.apps.scheduling.cli import register

JSP = "# tiny\n3 3\n0 3 1 2 2 2\n0 2 2 1 1 4\n1 4 2 3 0 1\n"
FJS = "2 3\n2 2 0 5 2 4 1 1 3\n1 1 2 7\n"


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def solve(cli, path, fmt, *extra):
    return CliRunner().invoke(cli, ["schedule", "solve", str(path), "--format", fmt, "--time-limit", "20", *extra])


def test_json_shape_indices_and_feasibility(cli, tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(JSP)
    result = solve(cli, path, "jsplib", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer) == {"makespan", "lower_bound", "status", "operations"}
    assert answer["status"] == "optimal" and answer["lower_bound"] == answer["makespan"]
    ops = answer["operations"]
    assert [(o["job"], o["op"]) for o in ops] == [(j, k) for j in range(3) for k in range(3)]
    assert all(set(o) == {"job", "op", "machine", "start", "end"} for o in ops)
    routes = [[(0, 3), (1, 2), (2, 2)], [(0, 2), (2, 1), (1, 4)], [(1, 4), (2, 3), (0, 1)]]
    for o in ops:
        assert (o["machine"], o["end"] - o["start"]) == routes[o["job"]][o["op"]]
    assert answer["makespan"] == max(o["end"] for o in ops)


def test_fjs_machines_as_in_the_file(cli, tmp_path):
    path = tmp_path / "tiny.fjs"
    path.write_text(FJS)
    answer = json.loads(solve(cli, path, "fjs", "--json").stdout)
    by_op = {(o["job"], o["op"]): o for o in answer["operations"]}
    assert by_op[(0, 1)]["machine"] == 1 and by_op[(1, 0)]["machine"] == 2
    assert by_op[(0, 0)]["machine"] == 0  # machine 2 is busy with job 1, so machine 0 (5) beats waiting


def test_human_readable_output(cli, tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(JSP)
    result = solve(cli, path, "jsplib")
    assert result.exit_code == 0 and "makespan" in result.stdout and "M0:" in result.stdout


def test_malformed_file_names_the_line_and_exits_non_zero(cli, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# c\n2 2\n0 3 1 2\n1 four 0 1\n")
    result = solve(cli, path, "jsplib", "--json")
    assert result.exit_code == 2
    assert f"{path}:4" in result.stderr and "'four'" in result.stderr and result.stdout == ""


def test_operation_without_machine_is_impossible(cli, tmp_path):
    path = tmp_path / "impossible.fjs"
    path.write_text("1 2\n2 1 0 3 0\n")
    result = solve(cli, path, "fjs", "--json")
    assert result.exit_code == 3 and "no eligible machine" in result.stderr


def test_bad_options(cli, tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(JSP)
    assert solve(cli, path, "xml").exit_code == 2
    assert solve(cli, tmp_path / "nope.txt", "jsplib").exit_code == 2


def test_standalone_process_prints_one_json_object(tmp_path):
    """As evaluation runs it: a fresh process, stdout is exactly one JSON object."""
    path = tmp_path / "tiny.txt"
    path.write_text(JSP)
    code = ("import typer; from zhizao.apps.scheduling.cli import register; cli = typer.Typer(); register(cli); "
            "cli(prog_name='zhizao')")
    done = subprocess.run([sys.executable, "-c", code, "schedule", "solve", str(path), "--format", "jsplib",
                           "--time-limit", "5", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["makespan"] == json.loads(done.stdout.strip().splitlines()[-1])["makespan"]
    assert len(done.stdout.strip().splitlines()) == 1


def test_a_stopped_solve_still_answers_with_a_feasible_schedule():
    from zhizao.apps.scheduling.cli import _best_so_far
    from zhizao.apps.scheduling.instances import parse_jsplib
    from zhizao.apps.scheduling.model import SolveControl
    from zhizao.apps.scheduling.schedule import violations

    model = parse_jsplib(JSP).model
    result = _best_so_far(SolveControl(), model)  # stopped before even the warm start was recorded
    assert result.feasible and violations(model, result.operations) == []
    assert result.makespan == max(s.end for s in result.operations)
