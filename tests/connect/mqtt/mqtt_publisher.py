"""A publisher process for the broker-restart test: N QoS 1 points with unique (tag, ts), one per message,
at a steady rate; it rides out broker restarts (paho queues and resends) and finally writes which points
the broker acknowledged as JSON: {"acked": [[tag, ts], ...], "unacked": n}.

    python mqtt_publisher.py --port P --root R --tags t1,t2 --points N --rate R --out FILE
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

import paho.mqtt.client as paho


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--tags", required=True, help="comma-separated tag paths")
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    parser.add_argument("--t0", type=int, required=True, help="timestamp of the first point (epoch ms)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--deadline-s", type=float, default=60.0, help="give up waiting for acknowledgements")
    args = parser.parse_args()
    tags = args.tags.split(",")

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}",
                         clean_session=False)
    client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
    client.max_queued_messages_set(0)
    # PUBACKs by message id (unique here: fewer than 65535 messages). Not MQTTMessageInfo.is_published(),
    # which raises for a message published while disconnected although paho queues and sends it later.
    acked_mids: set[int] = set()
    client.on_publish = lambda _client, _userdata, mid, _reason, _properties: acked_mids.add(mid)
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    sent: dict[int, tuple[str, int]] = {}
    start = time.monotonic()
    for i in range(args.points):
        tag, ts = tags[i % len(tags)], args.t0 + i // len(tags)
        info = client.publish(f"{args.root}/{tag}", json.dumps({"ts": ts, "v": float(i)}), qos=1)
        sent[info.mid] = (tag, ts)
        delay = start + (i + 1) / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + args.deadline_s
    while time.monotonic() < deadline and len(acked_mids) < len(sent):
        time.sleep(0.05)
    acked = [list(sent[mid]) for mid in sorted(acked_mids) if mid in sent]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"acked": acked, "unacked": len(sent) - len(acked)}, f)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
