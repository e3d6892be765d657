"""The SPC API in the real platform (demo plant, no simulator): reads for everyone, writes for engineers."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient
from tests.conftest import auth

TAG = "zhizao/suzhou/machining/line1/assembly/insp1/bore_diameter"


def test_spc_endpoints_and_roles(platform_app):
    app, tokens = platform_app
    with TestClient(app) as client:
        ctx = app.state.ctx
        now = ctx.clock.now_ms()
        values = 25.0 + 0.002 * np.random.default_rng(1).standard_normal(60)
        ctx.historian.write([{"tag": TAG, "ts": now - (60 - i) * 60_000, "v": float(v)} for i, v in enumerate(values)])
        viewer, operator, engineer = (auth(tokens[r]) for r in ("viewer", "operator", "engineer"))
        assert client.get("/api/spc/tags").status_code == 401
        tags = client.get("/api/spc/tags", headers=viewer).json()
        assert [t["tag"] for t in tags] == [TAG] and tags[0]["phase"] == "collecting"
        chart = client.get("/api/spc/chart", params={"tag": TAG}, headers=viewer).json()
        assert chart["phase"] == "trial" and chart["points"] == 60 and chart["series"][0]["kind"] == "xbar"
        cap = client.get("/api/spc/capability", params={"tag": TAG}, headers=viewer).json()
        assert cap["usl"] == 25.015 and cap["cpk"]["low"] < cap["cpk"]["value"]
        rules = client.get("/api/spc/rules", headers={**viewer, "Accept-Language": "zh-CN"}).json()
        assert len(rules) == 8 and rules[1]["title"] == "偏移"
        r = client.get("/api/spc/chart", params={"tag": "zhizao/nope"}, headers=viewer)
        assert r.status_code == 404 and r.json()["detail"].startswith("tag")
        # Writes: an operator may not, an engineer may.
        body = {"tag": TAG, "chart": "ewma", "ewma_lambda": 0.1}
        assert client.put("/api/spc/config", json=body, headers=operator).status_code == 403
        r = client.put("/api/spc/config", json=body, headers=engineer)
        assert r.status_code == 200 and r.json()["ewma_lambda"] == 0.1
        r = client.put("/api/spc/config", json={**body, "subgroup_size": 40}, headers=engineer)
        assert r.status_code == 422 and "subgroup_size" in r.text
        assert client.post("/api/spc/baseline", json={"tag": TAG}, headers=operator).status_code == 403
        r = client.post("/api/spc/baseline", json={"tag": TAG}, headers=engineer)
        assert r.status_code == 200 and r.json()["count"] == 60 and r.json()["frozen_by"] == "engineer1"
        chart = client.get("/api/spc/chart", params={"tag": TAG}, headers=viewer).json()
        assert chart["phase"] == "monitoring" and chart["series"][0]["kind"] == "ewma"
        assert client.delete("/api/spc/baseline", params={"tag": TAG}, headers=engineer).json()["baseline"] is None
