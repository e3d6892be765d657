"""PostgreSQL stopped hard and restarted under a writer: nothing acknowledged is lost, nothing
is stored twice. Runs a private cluster on a free port (the shared server is never touched)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from zhizao.core.clock import FixedClock
from zhizao.store.historian import HistorianUnavailable, Point
from zhizao.store.postgres_historian import PostgresHistorian

pytestmark = [pytest.mark.services, pytest.mark.slow]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NOW = 1_750_000_020_000
TAGS = 20
BATCH = 400  # points per write: 20 points per tag


@dataclass
class Tag:
    path: str
    data_type: str = "float"


class Cluster:
    """A throw-away PostgreSQL cluster owned by the ``postgres`` user, started with pg_ctl."""

    def __init__(self, base: Path, port: int) -> None:
        self.data, self.log, self.port = base / "data", base / "log", port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                "-o", f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c shared_buffers=32MB",
                "start")

    def stop(self, mode: str) -> None:
        self.pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip(f"a private PostgreSQL cluster needs {PG_BIN}/initdb and runuser")
    if os.geteuid() != 0:
        pytest.skip("starting a private PostgreSQL cluster as user postgres needs root (runuser)")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to own a private PostgreSQL cluster")
    base = Path(tempfile.mkdtemp(prefix="zhizao-pg-"))
    os.chown(base, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(base, _free_port())
    try:
        cluster.pg(str(PG_BIN / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync")
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def test_restart_mid_stream_loses_and_duplicates_nothing(cluster):
    paths = [f"line/m{i}/temp" for i in range(TAGS)]
    hist = PostgresHistorian(cluster.url, clock=FixedClock(NOW), connect_timeout_s=2)
    hist.register_tags(Tag(p) for p in paths)
    acked: list[Point] = []
    unavailable = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        # What the platform's store-and-forward does: keep a batch the historian could not
        # take and write it again until it is acknowledged.
        nonlocal unavailable
        k = 0
        try:
            while not stop.is_set():
                batch = [Point(paths[j % TAGS], NOW - 86_400_000 + (k + j // TAGS) * 1000, float(k + j))
                         for j in range(BATCH)]
                k += BATCH // TAGS
                while True:
                    try:
                        hist.write(batch)
                        break
                    except HistorianUnavailable:
                        unavailable += 1
                        time.sleep(0.05)
                acked.extend(batch)
        except BaseException as exc:
            errors.append(exc)

    def wait_for_more(n: int) -> None:
        target = len(acked) + n
        deadline = time.monotonic() + 60
        while len(acked) < target:
            assert not errors, errors
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(2):
            wait_for_more(10 * BATCH)
            cluster.stop("immediate")  # a crash: no checkpoint, recovery from WAL on start
            time.sleep(0.5)
            cluster.start()
        wait_for_more(10 * BATCH)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert unavailable > 0, "the writer never saw the database down"

    with psycopg.connect(cluster.url) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT (tag_id, ts)) FROM zhizao.points").fetchone()
        stored = set(conn.execute("SELECT t.path, p.ts FROM zhizao.points p JOIN zhizao.tags t ON t.id = p.tag_id"))
    expected = {(p.tag, p.ts) for p in acked}
    assert len(expected) == len(acked)  # the test's points are unique
    lost = expected - stored
    print(f"acknowledged {len(acked)}, stored {rows}, duplicates {rows - distinct}, lost {len(lost)}, "
          f"unavailable errors {unavailable}, replays dropped {hist.stats()['duplicates']}")
    assert not lost
    assert rows - distinct == 0
    assert rows == len(expected)  # every batch was eventually acknowledged: nothing more, nothing less
    last = acked[-1]
    assert hist.latest([last.tag]) == {last.tag: last}
    hist.close()
