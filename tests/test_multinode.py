"""Several platform nodes: two ``zhizao run`` processes on one PostgreSQL (historian schema and
relational database) and one broker split MQTT ingestion with a shared subscription and serve the
same data; node A is SIGKILLed mid-stream and restarted, and no point the broker acknowledged is lost.

The file is also the publisher process (``python test_multinode.py publish ...``): QoS 1 messages of
``--per-message`` points with unique (tag, ts); it writes the points whose PUBACK arrived as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
ZHIZAO = ROOT / ".venv" / "bin" / "zhizao"
BROKER, BROKER_PORT = "127.0.0.1", 1883
PG = "postgresql://postgres@127.0.0.1:5432"
EQUIPMENT = ("m1", "m2")
TAGS = [f"acme/s1/a1/l1/c1/{eq}/{name}" for eq in EQUIPMENT for name in ("temp", "speed")]
PER_MESSAGE = 20  # points per MQTT message: the broker's queue for an absent node counts messages
RATE = 60.0  # messages per second
PLANT = """
version: 1
connectors:
  - name: broker
    kind: mqtt
    config:
      url: mqtt://{broker}:{port}
      client_id: "{client}-${{ZHIZAO_NODE_ID}}"
      shared_group: "{group}"
      qos: 1
      clean_session: false
      batch_max_wait_ms: 20
      topics:
        - {{filter: "{root}/#", format: uns, root: "{root}"}}
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
{equipment}"""
EQUIPMENT_YAML = """                    - id: {eq}
                      tags:
                        - {{id: temp, data_type: float, source: {{connector: broker}}}}
                        - {{id: speed, data_type: float, source: {{connector: broker}}}}
"""


# ---- the publisher process ----------------------------------------------------------------


def message_points(m: int, t0: int) -> tuple[str, list[dict]]:
    """Message m: PER_MESSAGE points of one tag with timestamps no other message has."""
    tag, seq = TAGS[m % len(TAGS)], m // len(TAGS)
    return tag, [{"ts": t0 + seq * PER_MESSAGE + k, "v": seq * PER_MESSAGE + k + 0.5} for k in range(PER_MESSAGE)]


def publish_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--t0", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop-file", required=True, help="publishing ends once this file exists")
    parser.add_argument("--progress-file", required=True, help="messages sent so far, rewritten now and then")
    parser.add_argument("--max-messages", type=int, default=3000)
    args = parser.parse_args(argv)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"zt-pub-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    acked: set[int] = set()  # PUBACKs by message id (fewer than 65535 messages: unique)
    client.on_publish = lambda _c, _u, mid, _rc, _p: acked.add(mid)
    client.connect(BROKER, BROKER_PORT)
    client.loop_start()
    sent: dict[int, int] = {}  # mid -> message number
    start = time.monotonic()
    for m in range(args.max_messages):
        if m % 5 == 0:
            # Written aside and renamed, so a reader never sees a half-written file.
            tmp = Path(args.progress_file + ".tmp")
            tmp.write_text(str(m))
            tmp.replace(args.progress_file)
            if os.path.exists(args.stop_file):
                break
        tag, points = message_points(m, args.t0)
        sent[client.publish(f"{args.root}/{tag}", json.dumps(points), qos=1).mid] = m
        delay = start + (m + 1) / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(acked) < len(sent):
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    messages = sorted(sent[mid] for mid in acked if mid in sent)
    Path(args.out).write_text(json.dumps({"acked": messages, "sent": len(sent)}))


# ---- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll until ``predicate`` is truthy (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)


class Node:
    """One ``zhizao run`` process with its own data folder (plant, spool) and port."""

    def __init__(self, name: str, folder: Path, env: dict[str, str]) -> None:
        self.name = name
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "ZHIZAO_NODE_ID": name}
        self.proc: subprocess.Popen | None = None
        self.headers: dict[str, str] = {}

    def start(self) -> None:
        with open(self.folder / "server.log", "ab") as log:
            self.proc = subprocess.Popen([str(ZHIZAO), "run", "--port", str(self.port), "--data-dir", str(self.folder)],
                                         env=self.env, cwd=self.folder, stdout=log, stderr=log)

    def log_tail(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-3000:]

    def healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, f"node {self.name} exited:\n{self.log_tail()}"
        try:
            return httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.base}{path}", params=params, headers=self.headers, timeout=30)
        assert r.status_code == 200, f"{self.name} GET {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def mqtt(self) -> dict:
        return next(c for c in self.get("/api/connectors") if c["name"] == "broker")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def stored_points(schema: str) -> list[tuple[str, int, float]]:
    with psycopg.connect(f"{PG}/test") as conn:
        return conn.execute(f"SELECT t.path, p.ts, p.v FROM {schema}.points p JOIN {schema}.tags t "
                            "ON t.id = p.tag_id").fetchall()  # type: ignore[return-value]


def drop_sessions(client_ids: list[str]) -> None:
    """Remove the persistent sessions the nodes left on the shared broker (a clean-session connect)."""
    for client_id in client_ids:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        try:
            client.connect(BROKER, BROKER_PORT)
            client.loop_start()
            time.sleep(0.2)
            client.disconnect()
            client.loop_stop()
        except OSError:
            pass


# ---- the test -----------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.slow
def test_two_nodes_split_mqtt_and_a_killed_node_loses_nothing_acknowledged(tmp_path):
    run = uuid.uuid4().hex[:10]
    database, schema, root, client = f"zt_mn_{run}", f"zt_mn_{run}", f"zt-mn-{run}", f"zt-mn-{run}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    plant = PLANT.format(broker=BROKER, port=BROKER_PORT, client=client, group=f"g{run}", root=root,
                         equipment="".join(EQUIPMENT_YAML.format(eq=eq) for eq in EQUIPMENT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIZAO_")}
    env.update(ZHIZAO_CONFIG=str(tmp_path / "none.toml"), ZHIZAO_DATABASE_URL=f"{PG}/{database}",
               ZHIZAO_HISTORIAN_URL=f"{PG}/test?schema={schema}", ZHIZAO_SPOOL_SYNC="normal")
    nodes = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "plant.yaml").write_text(plant, encoding="utf-8")
        nodes.append(Node(name, folder, env))
    a, b = nodes
    publisher: subprocess.Popen | None = None
    t0 = (int(time.time() * 1000) - 3_600_000) // 1000 * 1000
    out, stop_file, progress = tmp_path / "acked.json", tmp_path / "stop", tmp_path / "progress"
    try:
        for node in nodes:  # together: both migrate the one database and set up the one schema
            node.start()
        wait_until(lambda: all(node.healthy() for node in nodes), 60, "both nodes up")

        from zhizao.security.service import Security
        from zhizao.store.db import Database

        db = Database(f"{PG}/{database}")
        security = Security(db)
        token = security.issue_token(security.add_user("reader", "correct-horse-9", "viewer"), "api", "multinode")
        db.close()
        for node in nodes:
            node.headers = {"Authorization": f"Bearer {token}"}
        # Subscribed on both before the first message, else the broker would drop it (nobody subscribed).
        wait_until(lambda: all(node.mqtt()["state"] == "connected" for node in nodes), 30, "both connectors up")

        publisher = subprocess.Popen([sys.executable, __file__, "publish", "--root", root, "--t0", str(t0),
                                      "--out", str(out), "--stop-file", str(stop_file),
                                      "--progress-file", str(progress)])
        # Kill A mid-stream, once both nodes have stored part of it.
        wait_until(lambda: all(node.mqtt()["counters"].get("points", 0) >= 30 * PER_MESSAGE for node in nodes),
                   30, "both nodes took a share")
        shares_before_kill = {node.name: node.mqtt()["counters"] for node in nodes}
        a.kill()
        sent_at_kill = int(progress.read_text())
        time.sleep(1.0)  # the stream goes on without A: B takes it, the broker queues A's share
        a.start()
        wait_until(a.healthy, 60, "node A restarted")
        wait_until(lambda: a.mqtt()["state"] == "connected", 30, "node A's connector reconnected")
        # Keep publishing a little after A is back, so both share live traffic again.
        restarted_at = int(progress.read_text())
        wait_until(lambda: int(progress.read_text()) >= restarted_at + 60, 30, "publishing after the restart")
        stop_file.touch()
        publisher.wait(60)
        assert publisher.returncode == 0
        report_in = json.loads(out.read_text())

        expected = {(tag, p["ts"]): p["v"] for m in report_in["acked"] for tag, pts in [message_points(m, t0)]
                    for p in pts}

        def all_stored() -> bool:
            return not set(expected) - {(tag, ts) for tag, ts, _ in stored_points(schema)}

        try:  # acknowledged points may still be on their way (A's session queue, its spool's replay)
            wait_until(all_stored, 30, "every acknowledged point stored")
        except AssertionError:
            pass  # the assertions below say what is missing
        rows = stored_points(schema)
        stored = {(tag, ts): v for tag, ts, v in rows}
        missing = sorted(set(expected) - set(stored))
        shares = {node.name: node.mqtt()["counters"] for node in nodes}
        health = {node.name: node.get("/api/health")["historian"] for node in nodes}

        # Both nodes serve the same data: raw history and latest values, read through each node's API.
        last_ts = max(ts for _, ts in expected)
        served = {}
        for node in nodes:
            served[node.name] = {tag: (node.get(f"/api/tags/{tag}/history", start=t0, end=last_ts + 1)["points"],
                                       node.get(f"/api/tags/{tag}/latest")) for tag in TAGS}
    finally:
        stop_file.touch()
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
            publisher.wait(10)
        for node in nodes:
            node.stop()
        drop_sessions([f"{client}-{node.name}" for node in nodes])
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    report = {
        "messages_sent": report_in["sent"], "messages_acked": len(report_in["acked"]),
        "messages_sent_when_a_was_killed": sent_at_kill,
        "points_acked": len(expected), "points_stored": len(rows), "lost": len(missing),
        "duplicates_after_dedupe": len(rows) - len(stored),
        # Points dropped by the (tag, ts) constraint: redeliveries around A's death (A's count since its restart).
        "raw_duplicates_dropped": {name: h["duplicates"] for name, h in health.items()},
        "points_per_node": {"a_before_kill": shares_before_kill["a"].get("points", 0),
                            "a_after_restart": shares["a"].get("points", 0), "b": shares["b"].get("points", 0)},
        "messages_per_node": {"a_before_kill": shares_before_kill["a"].get("messages", 0),
                              "a_after_restart": shares["a"].get("messages", 0), "b": shares["b"].get("messages", 0)},
    }
    print("\nmulti-node report:", json.dumps(report))
    assert report_in["acked"], "the broker acknowledged nothing"
    assert not missing, f"{len(missing)} acknowledged points lost, e.g. {missing[:5]}"
    assert all(stored[key] == v for key, v in expected.items())
    assert set(stored) == set(expected)  # nothing stored that was not published
    assert report["duplicates_after_dedupe"] == 0
    assert all(report["points_per_node"][k] > 0 for k in ("a_before_kill", "a_after_restart", "b"))
    for tag in TAGS:
        history_a, latest_a = served["a"][tag]
        assert (history_a, latest_a) == served["b"][tag]
        assert [tuple(p) for p in history_a] == sorted((ts, v) for (t, ts), v in expected.items() if t == tag)
        assert latest_a["ts"] == max(ts for t, ts in expected if t == tag)


if __name__ == "__main__" and sys.argv[1:2] == ["publish"]:
    publish_main(sys.argv[2:])
