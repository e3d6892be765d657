"""MQTT ingestion through 1 and through 2 platform nodes sharing one subscription, one PostgreSQL
historian schema and one relational database: points per second from the first publish until every
point is in PostgreSQL. Prints JSON and writes benchmarks/results/multinode.json.

    .venv/bin/python benchmarks/bench_multinode.py [--messages 1000] [--per-message 300]

Keep --messages at or below 1000: the system Mosquitto queues at most 1000 messages per client
(max_queued_messages) and drops the rest, and the publisher sends as fast as it can.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import psycopg

from zhizao.security.service import Security
from zhizao.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_multinode import (  # noqa: E402
    BROKER,
    BROKER_PORT,
    EQUIPMENT,
    EQUIPMENT_YAML,
    PG,
    PLANT,
    TAGS,
    Node,
    drop_sessions,
    wait_until,
)


def stored_count(schema: str) -> int:
    with psycopg.connect(f"{PG}/test") as conn:
        return conn.execute(f"SELECT count(*) FROM {schema}.points").fetchone()[0]  # type: ignore[index]


def run(n_nodes: int, messages: int, per_message: int, folder: Path) -> dict:
    run_id = uuid.uuid4().hex[:10]
    database = schema = f"zt_bmn_{run_id}"
    root = client = f"zt-bmn-{run_id}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    plant = PLANT.format(broker=BROKER, port=BROKER_PORT, client=client, group=f"g{run_id}", root=root,
                         equipment="".join(EQUIPMENT_YAML.format(eq=eq) for eq in EQUIPMENT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIZAO_")}
    env.update(ZHIZAO_CONFIG=str(folder / "none.toml"), ZHIZAO_DATABASE_URL=f"{PG}/{database}",
               ZHIZAO_HISTORIAN_URL=f"{PG}/test?schema={schema}", ZHIZAO_SPOOL_SYNC="normal")
    nodes = []
    for i in range(n_nodes):
        sub = folder / f"{run_id}-{i}"
        sub.mkdir()
        (sub / "plant.yaml").write_text(plant, encoding="utf-8")
        nodes.append(Node(f"n{i}", sub, env))
    t0 = (int(time.time() * 1000) - 3_600_000) // 1000 * 1000
    total = messages * per_message
    try:
        for node in nodes:
            node.start()
        wait_until(lambda: all(node.healthy() for node in nodes), 120, "nodes up")
        db = Database(f"{PG}/{database}")
        security = Security(db)
        token = security.issue_token(security.add_user("reader", "correct-horse-9", "viewer"), "api", "bench")
        db.close()
        for node in nodes:
            node.headers = {"Authorization": f"Bearer {token}"}
        # Subscribed everywhere before the first message, else the broker drops what nobody subscribed to.
        wait_until(lambda: all(node.mqtt()["state"] == "connected" for node in nodes), 60, "connectors up")
        pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"zt-bpub-{run_id}")
        pub.max_inflight_messages_set(100)
        pub.max_queued_messages_set(0)
        pub.connect(BROKER, BROKER_PORT)
        pub.loop_start()
        start = time.monotonic()
        infos = []
        for m in range(messages):
            tag, seq = TAGS[m % len(TAGS)], m // len(TAGS)
            payload = [{"ts": t0 + seq * per_message + k, "v": float(k)} for k in range(per_message)]
            infos.append(pub.publish(f"{root}/{tag}", json.dumps(payload), qos=1))
        for info in infos:
            info.wait_for_publish(60)
        published_s = time.monotonic() - start
        wait_until(lambda: stored_count(schema) >= total, 300, "all points stored")
        elapsed = time.monotonic() - start
        pub.disconnect()
        pub.loop_stop()
    finally:
        for node in nodes:
            node.stop()
        drop_sessions([f"{client}-{node.name}" for node in nodes])
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return {"nodes": n_nodes, "messages": messages, "points": total, "publish_s": round(published_s, 3),
            "stored_s": round(elapsed, 3), "points_per_s": round(total / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--per-message", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zt-bmn-") as tmp:
        results = [run(n, args.messages, args.per_message, Path(tmp)) for n in (1, 2)]
    out = {"benchmark": "multinode", "broker": f"{BROKER}:{BROKER_PORT}", "historian": "postgresql",
           "cpus": os.cpu_count(), "runs": results}
    print(json.dumps(out, indent=2))
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "multinode.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
