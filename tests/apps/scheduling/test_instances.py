"""Instance readers: file order, machine numbering, and errors that name the line."""

from __future__ import annotations

import pytest

from zhizao.apps.scheduling.instances import InstanceError, parse_fjs, parse_jsplib, read_instance

JSP = """# instance tiny
# two jobs, two machines
2 2
0 3 1 2
1 4 0 1
"""


def test_jsplib_reads_jobs_and_operations_in_file_order():
    model = parse_jsplib(JSP).model
    assert len(model.jobs) == 2 and len(model.machines) == 2
    first, second = model.jobs[0].operations
    assert (first.modes[0].machine, first.modes[0].duration) == (0, 3)
    assert (second.modes[0].machine, second.modes[0].duration) == (1, 2)
    assert second.predecessors == [first.index]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("# c\n2 2\n0 3 1 2\n", 3, "expected 2 job lines"),
    ("2 2\n0 3 1 x\n1 4 0 1\n", 2, "expected integers, found 'x'"),
    ("2 2\n0 3 1\n1 4 0 1\n", 2, "machine/time pairs"),
    ("2 2\n0 3 1 2\n5 4 0 1\n", 3, "machine 5 out of range"),
    ("2\n0 3\n", 1, "jobs machines"),
    ("2 2\n0 3 1 2\n1 4 0 1\n1 1 0 1\n", 4, "unexpected line"),
])
def test_jsplib_errors_name_the_line(text, line, words):
    with pytest.raises(InstanceError) as err:
        parse_jsplib(text, "bad.txt")
    assert err.value.line == line
    assert words in str(err.value) and f"bad.txt:{line}:" in str(err.value)


def test_fjs_flexible_operations_and_zero_based_machines():
    model = parse_fjs("2 3\n2 2 0 5 2 4 1 1 3\n1 1 2 7\n").model
    op = model.jobs[0].operations[0]
    assert [(m.machine, m.duration) for m in op.modes] == [(0, 5), (2, 4)]
    assert [(m.machine, m.duration) for m in model.jobs[1].operations[0].modes] == [(2, 7)]


def test_fjs_one_based_files_are_recognised_and_mapped_back():
    instance = parse_fjs("1 2\n2 1 1 5 1 2 3\n")
    assert instance.machine_offset == 1
    assert [m.modes[0].machine for m in instance.model.operations] == [0, 1]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("2 2\n1 1 0 5\n", 2, "expected 2 job lines"),
    ("1 2\n2 1 0 5\n", 2, "expected 2 operations"),
    ("1 2\n1 2 0 5 1\n", 2, "expected 2 machine/time pairs"),
    ("1 2\n1 1 0 5 9\n", 2, "numbers left"),
    ("1 2\n1 1 7 5\n", 2, "machine 7 out of range"),
])
def test_fjs_errors_name_the_line(text, line, words):
    with pytest.raises(InstanceError) as err:
        parse_fjs(text, "bad.fjs")
    assert err.value.line == line and words in str(err.value)


def test_an_operation_without_eligible_machine_is_reported(tmp_path):
    from zhizao.apps.scheduling.model import ModelError

    model = parse_fjs("1 2\n2 0 1 1 4\n").model
    with pytest.raises(ModelError, match="job 0 operation 0 .* no eligible machine"):
        model.validate()


def test_unreadable_file(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path / "missing.txt", "jsplib")
