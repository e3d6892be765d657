"""`zhizao sim --modbus PORT --opcua PORT`: the simulator serves real protocols to real clients."""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from asyncua import Client
from pymodbus.client import AsyncModbusTcpClient

ZHIZAO = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "zhizao"
TEMPERATURE = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sim_serves_modbus_and_opcua(tmp_path):
    modbus_port, opcua_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(ZHIZAO), "sim", "--modbus", str(modbus_port), "--opcua", str(opcua_port), "--speed", "30",
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ})
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "zhizao sim exited early:\n" + "".join(lines)
            lines.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(lines)
        config = json.loads(next(ln for ln in lines if ln.startswith('{"name": "sim_modbus"')))
        assert config["kind"] == "modbus" and config["config"]["devices"][0]["port"] == modbus_port
        url = re.search(r"opc\.tcp://\S+", output).group(0)
        assert url.startswith(f"opc.tcp://127.0.0.1:{opcua_port}"), output
        time.sleep(2)  # a few samples
        temp_modbus, temp_opcua = asyncio.run(read_both(modbus_port, url, config))
        assert 0 < temp_modbus < 150 and 0 < temp_opcua < 150
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


async def read_both(modbus_port: int, url: str, config: dict) -> tuple[float, float]:
    entry = next(r for g in config["config"]["devices"][0]["groups"] for r in g["registers"]
                 if r["tag"] == TEMPERATURE)
    client = AsyncModbusTcpClient("127.0.0.1", port=modbus_port)
    await client.connect()
    try:
        table = client.read_input_registers if entry["table"] == "input" else client.read_holding_registers
        response = await table(entry["address"], count=2, device_id=config["config"]["devices"][0]["unit_id"])
        assert not response.isError(), response
        temp_modbus = client.convert_from_registers(response.registers, client.DATATYPE.FLOAT32)
    finally:
        client.close()
    async with Client(url) as opc:
        ns = await opc.get_namespace_index("urn:zhizao:plant")
        temp_opcua = await opc.get_node(f"ns={ns};s={TEMPERATURE}").read_value()
    return float(temp_modbus), float(temp_opcua)
