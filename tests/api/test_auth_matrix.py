"""Every write endpoint against every role: 401 signed out, 403 below its role, allowed at and above."""

import pytest
from tests.conftest import ROLES, auth

TAG = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"

# (method, path, json body, least role)
WRITES = [
    ("POST", "/api/tags/data", [{"tag": TAG, "ts": "2026-01-01T00:00:00Z", "v": 20.0}], "operator"),
    ("PATCH", f"/api/tags/{TAG}", {"unit": "°C"}, "engineer"),
    ("POST", "/api/alarms/999999/ack", {}, "operator"),
    ("POST", "/api/alarms/999999/shelve", {"reason": "sensor replaced", "until": None}, "engineer"),
    ("POST", "/api/alarms/999999/unshelve", {}, "engineer"),
    ("POST", "/api/sim/speed", {"speed": 10}, "engineer"),
    ("POST", "/api/sim/equipment/cnc1/failure", {"mode": "bearing"}, "engineer"),
    ("POST", "/api/sim/equipment/cnc1/maintenance", {"duration_s": 600}, "engineer"),
    ("POST", "/api/users", {"username": "new_user", "password": "long-enough-1", "role": "viewer"}, "admin"),
    ("POST", "/api/tokens", {"name": "script"}, "viewer"),
]
READS = ["/api/assets", "/api/tags", "/api/tags/latest", f"/api/tags/{TAG}/history", "/api/oee",
         "/api/alarms", "/api/plant/export", "/api/audit"]


@pytest.mark.parametrize(("method", "path", "body", "least"), WRITES, ids=[f"{m} {p}" for m, p, *_ in WRITES])
def test_write_endpoint_role_matrix(client, tokens, method, path, body, least):
    response = client.request(method, path, json=body)
    assert response.status_code == 401, response.text
    for role in ROLES:
        response = client.request(method, path, json=body, headers=auth(tokens[role]))
        if ROLES.index(role) < ROLES.index(least):
            assert response.status_code == 403, (role, response.text)
            assert least in response.json()["detail"]
        else:
            # Allowed through auth: whatever the outcome, it is not an auth refusal.
            assert response.status_code not in (401, 403), (role, response.text)


def test_replace_plant_is_admin_only(client, tokens):
    yaml_text = client.get("/api/plant/export", headers=auth(tokens["viewer"])).text
    for role in ("viewer", "operator", "engineer"):
        r = client.put("/api/plant", content=yaml_text, headers={**auth(tokens[role]), "content-type": "text/yaml"})
        assert r.status_code == 403
    r = client.put("/api/plant", content=yaml_text, headers={**auth(tokens["admin"]), "content-type": "text/yaml"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_signed_in_user(client, tokens, path):
    assert client.get(path).status_code == 401
    role = "admin" if path == "/api/audit" else "viewer"
    assert client.get(path, headers=auth(tokens[role])).status_code == 200


def test_audit_is_admin_only(client, tokens):
    for role in ("viewer", "operator", "engineer"):
        assert client.get("/api/audit", headers=auth(tokens[role])).status_code == 403


def test_writes_are_audited_with_user_and_status(client, tokens):
    client.post("/api/tags/data", json=[], headers=auth(tokens["viewer"]))
    client.post("/api/tags/data", json=[{"tag": TAG, "ts": "2026-01-01T00:00:00Z", "v": 1.5}],
                headers=auth(tokens["operator"]))
    entries = client.get("/api/audit", headers=auth(tokens["admin"])).json()
    refused = next(e for e in entries if e["username"] == "viewer1" and e["target"] == "/api/tags/data")
    accepted = next(e for e in entries if e["username"] == "operator1" and e["target"] == "/api/tags/data")
    assert refused["status"] == 403 and accepted["status"] == 200
    assert refused["action"] == "POST"


def test_login_sets_a_session_cookie_and_logout_ends_it(client):
    assert client.post("/api/auth/login", json={"username": "operator1", "password": "wrong"}).status_code == 401
    r = client.post("/api/auth/login", json={"username": "operator1", "password": "correct-horse-9"})
    assert r.status_code == 200 and r.json()["role"] == "operator"
    assert client.get("/api/auth/me").json()["username"] == "operator1"
    assert client.post("/api/auth/logout").status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def test_health_is_public(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["tags"] > 50
