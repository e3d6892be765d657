"""Tag data through the HTTP API against the real embedded historian."""

import time
from datetime import UTC, datetime

from tests.conftest import auth

TAG = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"
STATE = "zhizao/suzhou/machining/line1/turning/cnc1/state"
# Two hours ago, on the minute: recent enough that the historian's retention (which runs soon
# after start, on the platform clock) neither drops nor rolls up these points.
T0 = (int(time.time()) // 60 - 120) * 60_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_write_then_read_latest_and_history(client, tokens):
    points = [{"tag": TAG, "ts": T0 + i * 10_000, "v": float(i)} for i in range(12)]  # 2 minutes
    points.append({"tag": STATE, "ts": iso(T0 + 5000), "v": "running"})
    r = client.post("/api/tags/data", json=points, headers=auth(tokens["operator"]))
    assert r.json() == {"accepted": 13, "rejected": []}

    viewer = auth(tokens["viewer"])
    latest = client.get(f"/api/tags/{TAG}/latest", headers=viewer).json()
    assert (latest["ts"], latest["v"]) == (T0 + 110_000, 11.0)
    assert client.get("/api/tags/latest", params={"prefix": STATE}, headers=viewer).json()[STATE]["v"] == "running"

    raw = client.get(f"/api/tags/{TAG}/history", params={"start": T0, "end": T0 + 120_000}, headers=viewer).json()
    assert [p[1] for p in raw["points"]] == [float(i) for i in range(12)]
    avg = client.get(f"/api/tags/{TAG}/history",
                     params={"start": T0, "end": T0 + 120_000, "interval": "1m", "agg": "avg"}, headers=viewer).json()
    assert avg["points"] == [[T0, 2.5], [T0 + 60_000, 8.5]]
    mx = client.get(f"/api/tags/{TAG}/history",
                    params={"start": iso(T0), "end": iso(T0 + 120_000), "interval": "1m",
                            "agg": "max"}, headers=viewer).json()
    assert mx["points"] == [[T0, 5.0], [T0 + 60_000, 11.0]]


def test_rejected_points_are_reported_and_the_rest_kept(client, tokens):
    points = [
        {"tag": TAG, "ts": T0, "v": 1.0},
        {"tag": "zhizao/nowhere/x/y/z/m/t", "ts": T0, "v": 1.0},
        {"tag": TAG, "ts": T0 + 1000, "v": "hot"},
        {"tag": TAG, "ts": 5, "v": 2.0},
        {"tag": TAG, "ts": T0 + 2000, "v": 3.0},
    ]
    body = client.post("/api/tags/data", json=points, headers=auth(tokens["operator"])).json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (1, "unknown_tag"), (2, "wrong_type"), (3, "bad_timestamp")]
    assert all(r["detail"] for r in body["rejected"])
    # Rejected by the ingest service, before the historian: counted and kept as dead letters.
    dead = client.get("/api/deadletters", params={"source": "api"}, headers=auth(tokens["viewer"])).json()
    counts = {(c["source"], c["cause"]): c["count"] for c in dead["counts"]}
    assert counts[("api", "unknown_tag")] == 1 and counts[("api", "bad_timestamp")] == 1
    assert {d["cause"] for d in dead["items"]} == {"unknown_tag", "wrong_type", "bad_timestamp"}


def test_bad_parameters_name_the_parameter(client, tokens):
    viewer = auth(tokens["viewer"])
    r = client.get(f"/api/tags/{TAG}/history", params={"interval": "5 parsecs"}, headers=viewer)
    assert r.status_code == 422 and "interval" in r.json()["detail"]
    r = client.get(f"/api/tags/{TAG}/history", params={"agg": "median", "interval": "1m"}, headers=viewer)
    assert r.status_code == 422 and "agg" in r.json()["detail"]
    r = client.get(f"/api/tags/{TAG}/history", params={"start": "yesterday"}, headers=viewer)
    assert r.status_code == 422 and "start" in r.json()["detail"]
    r = client.get("/api/tags/zhizao/no/such/tag/latest", headers=viewer)
    assert r.status_code == 404 and "no tag" in r.json()["detail"]


def test_asset_tree_and_tag_edit(client, tokens):
    tree = client.get("/api/assets", headers=auth(tokens["viewer"])).json()
    line = tree["enterprise"]["sites"][0]["areas"][0]["lines"][0]
    assert line["path"] == "zhizao/suzhou/machining/line1" and line["flow"][0] == "cnc1"
    cnc1 = line["cells"][0]["equipment"][0]
    assert cnc1["path"].endswith("/cnc1") and any(t["path"] == TAG for t in cnc1["tags"])

    r = client.patch(f"/api/tags/{TAG}", json={"alarms": {"hi": 70, "hihi": 95, "deadband": 1}},
                     headers=auth(tokens["engineer"]))
    assert r.status_code == 200 and r.json()["alarms"]["hi"] == 70
    exported = client.get("/api/plant/export", headers=auth(tokens["viewer"])).text
    assert "hi: 70" in exported
    # The override applies to cnc1 only; cnc2 keeps the template's limit.
    tags = {t["path"]: t for t in client.get("/api/tags", headers=auth(tokens["viewer"])).json()}
    assert tags[TAG.replace("cnc1", "cnc2")]["alarms"]["hi"] == 75

    # The new limit is in force at once: 72 °C is above it (and below the template's 75).
    now = int(time.time() * 1000)
    client.post("/api/tags/data", json=[{"tag": TAG, "ts": now, "v": 72.0}], headers=auth(tokens["operator"]))
    alarms = client.get("/api/alarms", params={"state": "active"}, headers=auth(tokens["viewer"])).json()
    assert [(a["tag"], a["limit"], a["limit_value"]) for a in alarms] == [(TAG, "hi", 70.0)]

    r = client.patch(f"/api/tags/{TAG}", json={"range": [10, 5]}, headers=auth(tokens["engineer"]))
    assert r.status_code == 422 and "range" in str(r.json()["detail"])


def test_replacing_the_plant_with_bad_yaml_names_line_and_field(client, tokens):
    r = client.put("/api/plant", content="enterprise:\n  id: Bad Id\n",
                   headers={**auth(tokens["admin"]), "content-type": "text/yaml"})
    assert r.status_code == 422
    problem = r.json()["detail"][0]
    assert problem["line"] == 2 and problem["field"] == "enterprise.id"
