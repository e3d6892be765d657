"""Readers for the benchmark instance formats (JSPLIB job shop and ``fjs`` flexible job shop).

Both produce a :class:`~zhizao.apps.scheduling.model.Model` whose jobs and operations
are in file order, plus the offset that maps the solver's 0-based machine numbers back
to the file's (0 for the data sets here; 1 for ``fjs`` files that number machines from 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zhizao.apps.scheduling.model import Model

Format = Literal["jsplib", "fjs"]


class InstanceError(ValueError):
    """A malformed instance file; ``line`` is 1-based (0 when the file as a whole is wrong)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class Instance:
    model: Model
    machine_offset: int = 0  # file machine number = solver machine index + offset


def _ints(path: str, number: int, text: str) -> list[int]:
    try:
        values = [int(token) for token in text.split()]
    except ValueError:
        bad = next(t for t in text.split() if not t.lstrip("-").isdigit())
        raise InstanceError(path, number, f"expected integers, found {bad!r}") from None
    if any(v < 0 for v in values):
        raise InstanceError(path, number, "negative number")
    return values


def _data_lines(path: str, text: str, comments: bool) -> list[tuple[int, list[int]]]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or (comments and stripped.startswith("#")):
            continue
        lines.append((number, _ints(path, number, stripped)))
    return lines


def parse_jsplib(text: str, path: str = "<input>") -> Instance:
    """JSPLIB: ``#`` comments, then ``jobs machines``, then per job ``machine time`` pairs in route order."""
    lines = _data_lines(path, text, comments=True)
    if not lines:
        raise InstanceError(path, 0, "empty file: expected a 'jobs machines' line")
    number, header = lines[0]
    if len(header) != 2 or header[0] < 1 or header[1] < 1:
        raise InstanceError(path, number, "expected 'jobs machines' (two positive integers)")
    n_jobs, n_machines = header
    body = lines[1:]
    if len(body) < n_jobs:
        last = body[-1][0] if body else number
        raise InstanceError(path, last, f"expected {n_jobs} job lines, found {len(body)}")
    if len(body) > n_jobs:
        raise InstanceError(path, body[n_jobs][0], f"unexpected line after the {n_jobs} job lines")
    model = Model()
    for m in range(n_machines):
        model.add_machine(f"M{m}")
    for j, (number, values) in enumerate(body):
        if not values or len(values) % 2:
            raise InstanceError(path, number, f"job {j}: expected machine/time pairs, found {len(values)} numbers")
        job = model.add_job(f"J{j}")
        for k in range(0, len(values), 2):
            machine, duration = values[k], values[k + 1]
            if machine >= n_machines:
                raise InstanceError(path, number, f"job {j} operation {k // 2}: machine {machine} out of range "
                                    f"0..{n_machines - 1}")
            model.add_mode(model.add_operation(job), machine, duration)
    return Instance(model)


def parse_fjs(text: str, path: str = "<input>") -> Instance:
    """``fjs``: ``jobs machines [average flexibility]``, then per job: number of operations and per
    operation the number of eligible machines followed by machine/time pairs. Machines are numbered
    from 0 in the data sets here; files numbering them 1..machines are recognised."""
    lines = _data_lines(path, text, comments=False)
    if not lines:
        raise InstanceError(path, 0, "empty file: expected a 'jobs machines' line")
    number, header = lines[0]
    if len(header) < 2 or header[0] < 1 or header[1] < 1:
        raise InstanceError(path, number, "expected 'jobs machines' (two positive integers)")
    n_jobs, n_machines = header[0], header[1]
    body = lines[1:]
    if len(body) < n_jobs:
        last = body[-1][0] if body else number
        raise InstanceError(path, last, f"expected {n_jobs} job lines, found {len(body)}")
    if len(body) > n_jobs:
        raise InstanceError(path, body[n_jobs][0], f"unexpected line after the {n_jobs} job lines")
    jobs: list[tuple[int, list[list[tuple[int, int]]]]] = []
    machine_numbers: list[int] = []
    for j, (number, values) in enumerate(body):
        if not values:
            raise InstanceError(path, number, f"job {j}: missing number of operations")
        n_ops, pos, ops = values[0], 1, []
        for k in range(n_ops):
            if pos >= len(values):
                raise InstanceError(path, number, f"job {j}: expected {n_ops} operations, line ends at operation {k}")
            n_modes = values[pos]
            pairs = values[pos + 1: pos + 1 + 2 * n_modes]
            if len(pairs) < 2 * n_modes:
                raise InstanceError(path, number, f"job {j} operation {k}: expected {n_modes} machine/time pairs")
            ops.append([(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)])
            machine_numbers.extend(pairs[0::2])
            pos += 1 + 2 * n_modes
        if pos != len(values):
            raise InstanceError(path, number, f"job {j}: {len(values) - pos} numbers left after {n_ops} operations")
        jobs.append((number, ops))
    one_based = bool(machine_numbers) and min(machine_numbers) >= 1 and max(machine_numbers) == n_machines
    offset = 1 if one_based else 0
    model = Model()
    for m in range(n_machines):
        model.add_machine(f"M{m + offset}")
    for j, (number, ops) in enumerate(jobs):
        job = model.add_job(f"J{j}")
        for k, pairs in enumerate(ops):
            op = model.add_operation(job)
            for machine, duration in pairs:
                if not 0 <= machine - offset < n_machines:
                    raise InstanceError(path, number, f"job {j} operation {k}: machine {machine} out of range")
                model.add_mode(op, machine - offset, duration)
    return Instance(model, offset)


def read_instance(path: str | Path, fmt: Format) -> Instance:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(str(path), 0, f"cannot read: {exc}") from None
    if fmt == "jsplib":
        return parse_jsplib(text, str(path))
    if fmt == "fjs":
        return parse_fjs(text, str(path))
    raise InstanceError(str(path), 0, f"unknown format {fmt!r}: expected jsplib or fjs")
