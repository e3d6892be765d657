"""The OPC UA connector against the simulator's OPC UA server, through the platform's ingest path.

One simulated plant server serves the whole module (starting one takes a second or
two); each test has its own platform and data folder.
"""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from tests.connect.opcua.opcua_helpers import (
    CNC1,
    FAST,
    LATHE,
    bound,
    client_plant,
    platform_for,
    sim_server,
    stored,
    until,
)

from zhizao.api.app import create_app
from zhizao.assets.model import Tag
from zhizao.connect.base import WriteError
from zhizao.connect.opcua.api import router as opcua_router

pytestmark = pytest.mark.asyncio(loop_scope="module")
CNC2 = "zhizao/suzhou/machining/line1/turning/cnc2"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def srv():
    async with sim_server() as server:
        await server.advance(60)
        yield server


def plc_config(srv) -> list[dict]:
    return [{"name": "plc", "kind": "opcua", "config": {"endpoint": srv.handle.url, **FAST}}]


def _connector(platform, name="plc"):
    return platform.ctx.services["connectors"].connectors[name]


def _dead(platform, cause, source="plc"):
    return platform.ctx.services["ingest"].dead_letters(source=source, cause=cause)


async def test_subscription_stores_simulator_values_and_rejects_what_does_not_fit(srv, tmp_path):
    tags = [
        bound("temperature", "plc", srv.node("temperature"), unit="°C"),
        bound("part_count", "plc", srv.node("part_count"), data_type="int"),
        bound("state", "plc", srv.node("state"), data_type="string"),
        bound("state_as_number", "plc", srv.node("state")),  # a string node on a float tag
        bound("ghost", "plc", srv.handle.node_id(f"{CNC1}/no_such_tag")),
        bound("typo", "plc", "ns=2;x=broken"),
    ]
    async with platform_for(tmp_path, client_plant(plc_config(srv), tags)) as platform:
        plc = _connector(platform)
        await until(lambda: stored(platform, f"{LATHE}/temperature") and stored(platform, f"{LATHE}/state"))
        served = srv.handle.read(f"{CNC1}/temperature")
        point = stored(platform, f"{LATHE}/temperature")[-1]
        assert point.v == served.Value.Value and point.q == "good"
        assert point.ts == int(served.SourceTimestamp.timestamp() * 1000)  # the source timestamp
        assert stored(platform, f"{LATHE}/state")[-1].v == srv.handle.read(f"{CNC1}/state").Value.Value
        assert isinstance(stored(platform, f"{LATHE}/part_count")[-1].v, int)

        # New simulated values arrive as they change.
        before = len(stored(platform, f"{LATHE}/temperature"))
        await srv.advance(30)
        await until(lambda: len(stored(platform, f"{LATHE}/temperature")) > before)

        # What does not fit is counted and kept as a dead letter, never stored.
        await until(lambda: _dead(platform, "wrong_type"))
        assert stored(platform, f"{LATHE}/state_as_number") == []
        letter = _dead(platform, "wrong_type")[0]
        assert letter["tag"] == f"{LATHE}/state_as_number" and "expected float, got str" in letter["detail"]
        assert _dead(platform, "BadNodeIdUnknown")[0]["tag"] == f"{LATHE}/ghost"
        assert _dead(platform, "bad_address")[0]["tag"] == f"{LATHE}/typo"
        health = plc.health()
        assert health.state == "degraded" and "4 of 6" in health.detail
        assert health.counters["wrong_type"] >= 1 and health.counters["points"] >= 4


async def test_status_codes_map_to_quality_and_bad_ones_are_counted(srv, tmp_path):
    path = f"{CNC2}/vibration_rms"
    tags = [bound("vibration", "plc", srv.handle.node_id(path))]
    async with platform_for(tmp_path, client_plant(plc_config(srv), tags)) as platform:
        plc = _connector(platform)
        await until(lambda: stored(platform, f"{LATHE}/vibration"))
        ts = stored(platform, f"{LATHE}/vibration")[-1].ts
        await srv.handle.set_value(path, 9.5, status="BadSensorFailure", ts_ms=ts + 1000)
        await srv.handle.set_value(path, 6.1, status="UncertainLastUsableValue", ts_ms=ts + 2000)
        await srv.handle.set_value(path, None, status="BadCommunicationError", ts_ms=ts + 3000)
        await srv.handle.set_value(path, 6.2, ts_ms=ts + 4000)
        await until(lambda: stored(platform, f"{LATHE}/vibration")[-1].ts == ts + 4000)
        by_ts = {p.ts: (p.v, p.q) for p in stored(platform, f"{LATHE}/vibration")}
        assert by_ts[ts + 1000] == (9.5, "bad")
        assert by_ts[ts + 2000] == (6.1, "uncertain")
        assert ts + 3000 not in by_ts  # no value: nothing to store
        assert by_ts[ts + 4000] == (6.2, "good")
        assert plc.health().counters["BadSensorFailure"] == 1
        assert plc.health().counters["BadCommunicationError"] == 1
        letter = _dead(platform, "BadCommunicationError")[0]
        assert letter["tag"] == f"{LATHE}/vibration" and "without a value" in letter["detail"]


async def test_write_back_and_read_back(srv, tmp_path):
    tags = [
        bound("feed_override", "plc", srv.node("feed_override"), unit="%", writable=True, range=[50, 120]),
        bound("spindle_speed", "plc", srv.node("spindle_speed"), writable=True),  # read-only on the server
        bound("temperature", "plc", srv.node("temperature")),
    ]
    async with platform_for(tmp_path, client_plant(plc_config(srv), tags)) as platform:
        plc = _connector(platform)
        await until(lambda: plc.health().state == "connected")
        index = platform.ctx.plant.tag_index()
        feed = index[f"{LATHE}/feed_override"]
        await plc.write(feed, 90)
        assert await plc.read(feed) == 90.0
        assert srv.sim.model.machine("cnc1").feed_pct == 90.0
        await until(lambda: [p for p in stored(platform, f"{LATHE}/feed_override") if p.v == 90.0])

        with pytest.raises(WriteError, match="BadOutOfRange"):
            await plc.write(feed, 200)
        assert srv.sim.model.machine("cnc1").feed_pct == 90.0 and await plc.read(feed) == 90.0
        with pytest.raises(WriteError, match="BadUserAccessDenied"):
            await plc.write(index[f"{LATHE}/spindle_speed"], 1000.0)
        with pytest.raises(WriteError, match="not writable"):
            await plc.write(index[f"{LATHE}/temperature"], 20.0)
        elsewhere = Tag(id="x", writable=True, source={"connector": "other", "address": srv.node("feed_override")})
        with pytest.raises(WriteError, match="not bound to connector 'plc'"):
            await plc.write(elsewhere, 80.0)


async def test_browse_and_import_through_the_api(srv, tmp_path):
    mill = {"id": "mill", "kind": "cnc"}
    plant = client_plant(plc_config(srv), [], more_equipment=[mill])
    async with platform_for(tmp_path, plant) as platform:
        security = platform.security
        engineer = security.issue_token(security.add_user("eng", "correct-horse-9", "engineer"))
        operator = security.issue_token(security.add_user("op", "correct-horse-9", "operator"))
        app = create_app(platform=platform)
        if not any(getattr(r, "path", "") == "/api/connectors/{name}/browse" for r in app.routes):
            app.include_router(opcua_router)  # until zhizao.api.app includes it
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zhizao") as api:
            as_engineer = {"Authorization": f"Bearer {engineer}"}
            response = await api.post("/api/connectors/plc/browse", json={"depth": 8}, headers=as_engineer)
            assert response.status_code == 200, response.text
            found = {v["browse_path"]: v for v in response.json()["variables"]}
            assert len(found) == len(srv.sim.model.plant.tags())
            temp = found[f"{CNC2}/temperature"]
            assert temp["node_id"] == srv.node("temperature", CNC2)
            assert (temp["data_type"], temp["opc_type"], temp["unit"]) == ("float", "Double", "°C")
            assert temp["description"] == "Bearing temperature" and temp["writable"] is False
            assert found[f"{CNC2}/feed_override"]["writable"] is True
            assert found[f"{CNC2}/part_count"]["tag"]["data_type"] == "int"
            assert temp["tag"]["source"] == {"connector": "plc", "address": temp["node_id"], "params": {}}

            # Browsing needs an engineer; an unknown start node or connector is named.
            denied = await api.post("/api/connectors/plc/browse", json={},
                                    headers={"Authorization": f"Bearer {operator}"})
            assert denied.status_code == 403
            bad = await api.post("/api/connectors/plc/browse", json={"node": "ns=2;s=nowhere"}, headers=as_engineer)
            assert bad.status_code == 502 and "BadNodeIdUnknown" in bad.json()["detail"]
            assert (await api.post("/api/connectors/nope/browse", json={}, headers=as_engineer)).status_code == 404

            chosen = [found[f"{CNC2}/temperature"]["tag"], found[f"{CNC2}/state"]["tag"]]
            response = await api.post("/api/connectors/plc/import", json={"equipment": "mill", "tags": chosen},
                                      headers=as_engineer)
            assert response.status_code == 200, response.text
            mill_path = "acme/site1/area1/line1/cell1/mill"
            assert response.json()["added"] == [f"{mill_path}/temperature", f"{mill_path}/state"]
            tag = platform.ctx.plant.tag_index()[f"{mill_path}/temperature"]
            assert (tag.unit, tag.source.connector, tag.source.address) == ("°C", "plc", temp["node_id"])
            assert temp["node_id"] in (tmp_path / "client_plant.yaml").read_text(encoding="utf-8")  # saved

            # The connector subscribes to the imported tags at once.
            await until(lambda: stored(platform, f"{mill_path}/temperature") and stored(platform, f"{mill_path}/state"))
            assert stored(platform, f"{mill_path}/temperature")[-1].v == \
                srv.handle.read(f"{CNC2}/temperature").Value.Value

            again = await api.post("/api/connectors/plc/import", json={"equipment": "mill", "tags": chosen[:1]},
                                   headers=as_engineer)
            assert again.status_code == 409 and "already has a tag 'temperature'" in again.json()["detail"]
            nowhere = await api.post("/api/connectors/plc/import", json={"equipment": "lathe9", "tags": chosen},
                                     headers=as_engineer)
            assert nowhere.status_code == 404 and "lathe9" in nowhere.json()["detail"]
