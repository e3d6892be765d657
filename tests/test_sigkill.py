"""Durable ingestion end to end: the real platform killed with SIGKILL mid-stream loses no
acknowledged point; and a PostgreSQL historian that goes down and comes back gets every
spooled point."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from zhizao.core.config import Settings
from zhizao.security.service import Security
from zhizao.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
ZHIZAO = ROOT / ".venv" / "bin" / "zhizao"
PLANT = """
version: 1
enterprise:
  id: acme
  sites:
    - id: s1
      areas:
        - id: a1
          lines:
            - id: l1
              cells:
                - id: c1
                  equipment:
                    - id: press1
                      kind: press
                      tags:
                        - {id: temperature, source: {connector: api}}
                        - {id: pressure, source: {connector: api}}
                        - {id: count, data_type: int, source: {connector: api}}
"""
TAGS = [f"acme/s1/a1/l1/c1/press1/{t}" for t in ("temperature", "pressure", "count")]
PER_TAG = 100  # points per tag and batch
T0 = (int(time.time() * 1000) - 6 * 3_600_000) // 1000 * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_batch(k: int) -> list[dict]:
    """Batch k: unique (tag, ts) across all batches; the value says which batch it came from."""
    return [{"tag": tag, "ts": T0 + k * PER_TAG + i, "v": k * PER_TAG + i if tag.endswith("count") else k + i / 1000}
            for tag in TAGS for i in range(PER_TAG)]


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIZAO_")}
        env["ZHIZAO_CONFIG"] = str(self.data_dir / "none.toml")
        with open(self.data_dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen([str(ZHIZAO), "run", "--port", str(self.port), "--data-dir",
                                          str(self.data_dir)], env=env, cwd=self.data_dir, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.data_dir / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the platform did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class Client(threading.Thread):
    """Posts batches in a loop; a batch that got no 200 (the server died) is sent again until it does."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: list[int] = []
        self.retried: set[int] = set()
        self.failures = 0
        self.running = True

    def run(self) -> None:
        k = 0
        with httpx.Client(timeout=30) as http:
            while self.running:
                while True:
                    try:
                        r = http.post(f"{self.base}/api/tags/data", json=make_batch(k), headers=self.headers)
                        if r.status_code == 200:
                            assert r.json()["accepted"] == len(TAGS) * PER_TAG, r.text
                            break
                    except httpx.HTTPError:
                        pass
                    self.failures += 1
                    self.retried.add(k)
                    time.sleep(0.05)
                self.acked.append(k)
                k += 1


def read_back(base: str, headers: dict, last_ts: int) -> list[tuple[str, int, object]]:
    rows = []
    for tag in TAGS:
        start = T0
        while start <= last_ts:
            end = start + 10_000  # at most 10,000 points per tag and window (the API returns 20,000)
            r = httpx.get(f"{base}/api/tags/{tag}/history", params={"start": start, "end": end}, headers=headers,
                          timeout=30)
            assert r.status_code == 200, r.text
            rows += [(tag, ts, v) for ts, v in r.json()["points"]]
            start = end
    return rows


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_point(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "plant.yaml").write_text(PLANT, encoding="utf-8")
    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    db.create_all()
    security = Security(db)
    token = security.issue_token(security.add_user("feeder", "correct-horse-9", "operator"), "api", "sigkill")
    db.close()

    server = Server(data_dir)
    server.start()
    client = Client(server.base, token)
    client.start()
    rng = random.Random(7)
    kills = 3
    try:
        for _ in range(kills):
            acked_before = len(client.acked)
            deadline = time.monotonic() + 30
            # Kill at a random moment once some batches got through since the last start.
            while len(client.acked) < acked_before + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
            server.kill()
            server.start()
        acked_before = len(client.acked)
        while len(client.acked) < acked_before + 3:
            time.sleep(0.02)
        client.running = False
        client.join(60)
        assert not client.is_alive()

        expected = {(p["tag"], p["ts"]): p["v"] for k in client.acked for p in make_batch(k)}
        last_ts = max(ts for _, ts in expected)
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        while True:  # the acknowledged points are durable; after a restart they may still be on their way
            rows = read_back(server.base, headers, last_ts)
            stored = {(tag, ts): v for tag, ts, v in rows}
            missing = set(expected) - set(stored)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        client.running = False
        server.stop()

    per_key = Counter((tag, ts) for tag, ts, _ in rows)
    duplicates = {key: n - 1 for key, n in per_key.items() if n > 1}
    retried_keys = {(p["tag"], p["ts"]) for k in client.retried for p in make_batch(k)}
    report = {"kills": kills, "batches_acknowledged": len(client.acked), "points_acknowledged": len(expected),
              "batches_sent_again": len(client.retried), "failed_posts": client.failures,
              "points_stored": len(rows), "lost": len(missing), "raw_duplicates": sum(duplicates.values()),
              # Rows left over when de-duplicated on (tag, ts, value): 0 when every duplicate is identical.
              "duplicates_after_dedupe": len(set(rows)) - len(per_key)}
    print("\nSIGKILL report:", json.dumps(report))
    assert client.failures >= kills  # the server really died under the client
    assert not missing, f"{len(missing)} acknowledged points lost, e.g. {sorted(missing)[:5]}"
    assert all(stored[key] == v for key, v in expected.items())
    # The platform never stores a point twice (the spool mark makes replays exactly-once); a
    # duplicate can only come from a batch the client itself sent again after a failed post.
    assert set(duplicates) <= retried_keys
    assert report["duplicates_after_dedupe"] == 0
    assert set(per_key) == set(expected)


# ---- PostgreSQL historian down, then back --------------------------------------------------


class PrivateCluster:
    """A throwaway PostgreSQL 15 cluster on a free port (the shared service is never touched)."""

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="zhizao-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        shutil.chown(self.dir, "postgres")
        self._pg("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")

    def _pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.BIN / args[0]), *args[1:]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.services
async def test_postgres_historian_down_points_wait_in_the_spool_and_arrive_when_it_returns(tmp_path):
    import asyncio

    from zhizao.runtime import Platform

    if not (PrivateCluster.BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL 15 binaries (initdb, pg_ctl) and runuser are needed for a private cluster")
    cluster = PrivateCluster()
    cluster.start()
    plant = tmp_path / "plant.yaml"
    plant.write_text(PLANT, encoding="utf-8")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant_file=plant, historian_url=cluster.url))
    await platform.start()
    ctx, ingest = platform.ctx, platform.ctx.services["ingest"]
    try:
        first = await ingest.submit(make_batch(0), source="api")
        assert await ingest.wait_stored(first, timeout=30)
        await asyncio.to_thread(cluster.stop)

        # The database is down: every batch is still taken, durably, into the spool.
        for k in range(1, 6):
            assert (await ingest.submit(make_batch(k), source="api")).accepted == len(TAGS) * PER_TAG
        await asyncio.to_thread(wait_until, lambda: ingest.forwarder.stats()["failures"] >= 2)
        status = ingest.status()
        assert not status["forwarder"]["available"] and "HistorianUnavailable" in status["forwarder"]["last_error"]
        assert status["spool"]["batches"] == 5 and status["spool"]["points"] == 5 * len(TAGS) * PER_TAG

        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(wait_until, lambda: ingest.spool.stats()["batches"] == 0, 60)
        for tag in TAGS:
            points = ctx.historian.read_raw(tag, T0, T0 + 6 * PER_TAG)
            assert [p.ts for p in points] == [T0 + i for i in range(6 * PER_TAG)]
        latest = ctx.historian.latest([TAGS[2]])[TAGS[2]]
        assert (latest.ts, latest.v) == (T0 + 6 * PER_TAG - 1, 6 * PER_TAG - 1)
        assert ingest.forwarder.available and ingest.status()["forwarder"]["retries"] >= 1
    finally:
        await platform.stop()
        cluster.remove()
