"""The energy API in the real platform (demo plant, no simulator): roles and shapes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import auth


def test_energy_endpoints_and_roles(platform_app):
    app, tokens = platform_app
    with TestClient(app) as client:
        viewer, operator, engineer = (auth(tokens[r]) for r in ("viewer", "operator", "engineer"))
        assert client.get("/api/energy/consumption").status_code == 401
        res = client.get("/api/energy/consumption", headers=viewer).json()
        assert {m["name"] for m in res["machines"]} >= {"数控车床1", "包装机"} and res["meters"][0]["kind"] == "utility"
        assert res["emission_factor"] == 0.5703
        r = client.get("/api/energy/consumption", params={"start": 10, "end": 5}, headers=viewer)
        assert r.status_code == 422 and r.json()["detail"].startswith("end")
        assert client.get("/api/energy/anomalies", headers=viewer).json() == []
        config = client.get("/api/energy/config", headers=viewer).json()
        assert config["tariff"]["prices"]["peak"] == 1.08
        config["tariff"]["prices"]["peak"] = 1.2
        assert client.put("/api/energy/config", json=config, headers=operator).status_code == 403
        r = client.put("/api/energy/config", json=config, headers=engineer)
        assert r.status_code == 200 and r.json()["tariff"]["prices"]["peak"] == 1.2
        config["tariff"]["periods"] = config["tariff"]["periods"][1:]
        r = client.put("/api/energy/config", json=config, headers=engineer)
        assert r.status_code == 422 and "00:00 is not covered" in r.text
        assert client.post("/api/energy/shifting/plan", json={}, headers=viewer).status_code == 403
        r = client.post("/api/energy/shifting/plan", json={"time_limit_s": 5, "day": "2024-06-02"}, headers=operator)
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["asap"]["violations"] == [] and plan["optimised"]["violations"] == []
        assert plan["optimised"]["cost"] < plan["asap"]["cost"] and plan["prices"][40] == 1.2
        r = client.post("/api/energy/shifting/plan", json={"day": "tomorrow"}, headers=operator)
        assert r.status_code == 422 and r.json()["detail"].startswith("day")
