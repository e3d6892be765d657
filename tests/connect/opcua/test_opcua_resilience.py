"""The OPC UA connector when the server goes away, and over a secure channel with a login.

Each test runs its own simulated plant server (the restart test two).
"""

from __future__ import annotations

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


def _connector(platform, name="plc"):
    return platform.ctx.services["connectors"].connectors[name]


async def test_reconnects_with_back_off_after_the_server_restarts(tmp_path):
    async with sim_server() as srv:
        await srv.advance(10)
        port = srv.handle.port
        plant = client_plant([{"name": "plc", "kind": "opcua", "config": {"endpoint": srv.handle.url, **FAST}}],
                             [bound("temperature", "plc", srv.node("temperature"))])
        async with platform_for(tmp_path, plant) as platform:
            plc = _connector(platform)
            await until(lambda: plc.health().state == "connected")
            await srv.handle.stop()
            await until(lambda: plc.health().state == "disconnected")
            assert "next attempt in" in plc.health().detail
            await until(lambda: plc.health().counters["connection_lost"] >= 2)  # it keeps trying
            async with sim_server(port) as again:
                await again.advance(120)
                last = again.handle.read(f"{CNC1}/temperature")
                await until(lambda: plc.health().state == "connected")
                ts = int(last.SourceTimestamp.timestamp() * 1000)
                await until(lambda: any(p.ts == ts for p in stored(platform, f"{LATHE}/temperature")))


async def test_basic256sha256_with_user_and_password(tmp_path):
    users = {"operator": "s3cret-pw"}
    async with sim_server(security="both", cert_dir=tmp_path / "server_pki", users=users) as srv:
        await srv.advance(10)
        secure = {"endpoint": srv.handle.url, **FAST, "security_policy": "Basic256Sha256",
                  "security_mode": "SignAndEncrypt", "username": "operator", "trust_on_first_use": True}
        connectors = [
            {"name": "plc", "kind": "opcua", "config": {**secure, "password": "s3cret-pw"}},
            {"name": "intruder", "kind": "opcua", "config": {**secure, "password": "guess"}},
            {"name": "anonymous", "kind": "opcua", "config": {"endpoint": srv.handle.url, **FAST}},
        ]
        tags = [bound("temperature", "plc", srv.node("temperature")),
                bound("power", "intruder", srv.node("power")),
                bound("energy", "anonymous", srv.node("energy"))]
        async with platform_for(tmp_path, client_plant(connectors, tags)) as platform:
            await until(lambda: stored(platform, f"{LATHE}/temperature"))
            plc = _connector(platform)
            assert plc.health().state == "connected"
            trusted = plc.pki_dir / "trusted_server.der"
            assert trusted.read_bytes() == srv.handle.certificate.read_bytes()

            intruder = _connector(platform, "intruder")
            await until(lambda: intruder.health().state == "error")
            assert "BadUserAccessDenied" in intruder.health().detail
            assert "username and password" in intruder.health().detail
            anonymous = _connector(platform, "anonymous")
            await until(lambda: anonymous.health().state == "error")
            assert "BadIdentityTokenRejected" in anonymous.health().detail
            assert stored(platform, f"{LATHE}/power") == [] and stored(platform, f"{LATHE}/energy") == []

            # Trusted on first use: a server showing another certificate later is refused.
            trusted.write_bytes((plc.pki_dir / "client_cert.der").read_bytes())
            await platform.ctx.services["connectors"].restart("plc")
            await until(lambda: plc.health().state == "error")
            assert "not the trusted" in plc.health().detail and plc.health().counters["untrusted_server"] >= 1


