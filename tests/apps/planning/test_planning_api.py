"""Forecast and planning routers on a real platform (no simulator): roles, the demo forecast, MRP."""

from __future__ import annotations

import time

import pytest
from tests.conftest import auth

pytestmark = pytest.mark.slow

TEXTBOOK = {
    "periods": 6,
    "items": [{"id": "a", "make": True, "lead_time": 1, "on_hand": 10},
              {"id": "b", "make": True, "lead_time": 2, "on_hand": 20, "scheduled_receipts": {"1": 10}},
              {"id": "c", "lead_time": 1, "on_hand": 5, "lot_rule": "fixed", "lot_size": 50}],
    "bom": [{"parent": "a", "child": "b", "qty": 2}, {"parent": "a", "child": "c", "qty": 1},
            {"parent": "b", "child": "c", "qty": 1}],
    "demand": {"a": [0, 0, 20, 0, 30, 10]},
}


def wait_ready(client, headers, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get("/api/forecast/status", headers=headers).json()
        if status["state"] in ("ready", "failed"):
            return status
        time.sleep(1)
    raise AssertionError(f"forecast not ready after {timeout_s} s: {status}")


def test_roles_forecast_and_mrp(client, tokens, tmp_path):
    viewer, engineer = auth(tokens["viewer"]), auth(tokens["engineer"])
    for path in ("/api/forecast/series", "/api/planning/mrp", "/api/planning/items"):
        assert client.get(path).status_code == 401
    assert client.post("/api/forecast/run", json={}, headers=viewer).status_code == 403
    assert client.put("/api/planning/items/casting_a", json={"on_hand": 1}, headers=viewer).status_code == 403
    assert client.post("/api/planning/mrp", json=TEXTBOOK, headers=viewer).status_code == 403

    status = wait_ready(client, viewer)
    assert status["state"] == "ready", status
    rows = {r["id"]: r for r in client.get("/api/forecast/series", headers=viewer).json()}
    assert {"ph100", "ph200", "spindle_bearing"} <= set(rows)
    assert rows["spindle_bearing"]["group"] == "intermittent" and rows["ph100"]["group"] == "regular"
    assert rows["spindle_bearing"]["model"] in ("croston", "sba", "tsb", "adida")
    detail = client.get("/api/forecast/series/ph100", headers=viewer).json()
    assert len(detail["forecast"]) == status["horizon"] and detail["model"] and detail["accuracy"]["smape"] < 60
    assert all(lo <= f <= hi for lo, f, hi in zip(detail["lower"], detail["forecast"], detail["upper"], strict=True))
    assert detail["candidates"][0]["owa"] <= detail["candidates"][-1]["owa"]
    # the run is kept in the model registry
    assert (tmp_path / "data" / "models" / "forecast" / "demo-demand" / "registry.json").exists()
    missing = client.get("/api/forecast/series/nope", headers={**viewer, "Accept-Language": "en"})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]

    policies = {p["item"]: p for p in client.get("/api/planning/inventory", headers=viewer).json()}
    assert set(policies) == {"ph100", "ph200", "spindle_bearing"}
    ph = policies["ph100"]
    assert ph["safety_stock"] > 0 and ph["reorder_point"] == pytest.approx(
        ph["mean_demand"] * ph["lead_time"] + ph["safety_stock"])
    higher = {p["item"]: p for p in client.get("/api/planning/inventory", params={"service_level": 0.99},
                                               headers=viewer).json()}
    assert higher["ph100"]["safety_stock"] > ph["safety_stock"]

    mrp = client.get("/api/planning/mrp", params={"periods": 14}, headers=viewer).json()
    plans = {p["item"]: p for p in mrp["plans"]}
    assert plans["ph100"]["low_level_code"] == 0 and plans["casting_a"]["low_level_code"] == 1
    assert plans["casting_a"]["gross"] == pytest.approx(plans["ph100"]["planned_releases"])
    bearing = [2 * (a + b) for a, b in zip(plans["ph100"]["planned_releases"], plans["ph200"]["planned_releases"],
                                             strict=True)]
    assert plans["bearing_6204"]["gross"] == pytest.approx(bearing)
    assert mrp["production_orders"] and all(o["product"] in ("ph100", "ph200") for o in mrp["production_orders"])
    order = mrp["production_orders"][0]
    assert set(order) == {"product", "qty", "release", "due"} and order["release"] <= order["due"]
    assert {o["material"] for o in mrp["purchase_orders"]} <= {"casting_a", "casting_b", "bearing_6204", "seal_kit",
                                                               "bolt_m8", "carton", "spindle_bearing"}

    changed = client.put("/api/planning/items/casting_a", json={"on_hand": 123456, "lead_time": 2}, headers=engineer)
    assert changed.status_code == 200 and changed.json()["on_hand"] == 123456
    items = {i["id"]: i for i in client.get("/api/planning/items", headers=viewer).json()}
    assert items["casting_a"]["lead_time"] == 2
    assert client.put("/api/planning/items/nope", json={"on_hand": 1}, headers=engineer).status_code == 404
    assert client.put("/api/planning/items/casting_a", json={"lead_time": -1}, headers=engineer).status_code == 422

    custom = client.post("/api/planning/mrp", json=TEXTBOOK, headers=engineer)
    assert custom.status_code == 200, custom.text
    c = {p["item"]: p for p in custom.json()["plans"]}["c"]
    assert c["planned_releases"] == [100, 0, 50, 0, 0, 0]
    bad = {**TEXTBOOK, "bom": [{"parent": "a", "child": "x", "qty": 1}]}
    response = client.post("/api/planning/mrp", json=bad, headers=engineer)
    assert response.status_code == 422 and "'x'" in response.json()["detail"]

    assert client.post("/api/forecast/run", json={"horizon": 14}, headers=engineer).status_code == 202
    assert wait_ready(client, viewer)["horizon"] == 14
