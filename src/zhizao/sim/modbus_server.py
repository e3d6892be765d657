"""The simulated plant as a Modbus TCP server (pymodbus), for trying the Modbus connector.

Register layout
---------------
Unit ids: the equipment of each line in its ``flow`` order (machines and buffers,
lines in plant order) is unit 1, 2, 3...; then every other piece of equipment with
tags (environment sensors, energy meters), in plant order. Equipment without tags
gets no unit. ``ModbusSimServer.units`` lists them.

Addresses (0-based protocol addresses): each of the equipment's tags, in its tag
order (template tags first, as in the plant model), owns two registers: tag ``k``
is at address ``2*k``. In the **input registers**:

=====================  ==============================================================
tag                    encoding (big-endian words and bytes)
=====================  ==============================================================
float                  float32; NaN until the simulator has published a value
int (counters, levels) uint32
``state``              uint16 code in the first register: 0 no value yet,
                       1 running, 2 idle, 3 setup, 4 down, 5 maintenance, 6 off
bool                   discrete input at bit address ``2*k`` (the registers stay 0)
other string tags      not served (the registers stay 0)
=====================  ==============================================================

Writable tags the simulator can act on (``feed_override``) are also **holding
registers** at the same address, same encoding; writing them (function code 16,
both registers) calls ``PlantSimulator.set_feed_override``. A value the simulator
refuses (outside the tag's range) is answered with exception 3 (illegal data
value); other holding addresses and all coils answer exception 2 (illegal data
address). Values follow the simulator's bus messages (topic = tag path).

``modbus_connector_config(plant, host, port)`` gives the matching ``modbus``
connector settings, so the platform can read the simulated plant over Modbus.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from zhizao.assets.model import MACHINE_STATES, Equipment, Plant, Tag
from zhizao.bus import Bus, Message
from zhizao.connect.modbus.codec import CodecError, decode, encode
from zhizao.core.i18n import t
from zhizao.sim.model import SimError

if TYPE_CHECKING:
    from zhizao.sim.service import PlantSimulator

log = logging.getLogger(__name__)

STATE_CODES: dict[str, int] = {state: i + 1 for i, state in enumerate(MACHINE_STATES)}
MAX_UNITS = 247  # Modbus unit ids 1..247
NAN_FLOAT32 = encode(math.nan, "float32")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where one tag is served: ``address`` (2 registers) and how it is encoded."""

    tag: Tag
    address: int
    encoding: str  # float32 | uint32 | state | bool
    writable: bool = False  # also a holding register that calls the simulator


@dataclass
class Unit:
    unit_id: int
    equipment: Equipment
    slots: list[Slot]
    size: int  # registers per table (2 per tag)


def _encoding(tag: Tag) -> str | None:
    if tag.data_type == "float":
        return "float32"
    if tag.data_type == "int":
        return "uint32"
    if tag.data_type == "bool":
        return "bool"
    return "state" if tag.id == "state" else None


# Writable tags the simulator can act on, and how: (simulator, equipment id, value).
SETTERS = {"feed_override": lambda sim, eq_id, value: sim.set_feed_override(eq_id, value)}


def modbus_layout(plant: Plant) -> list[Unit]:
    """The units and register addresses the simulator serves (see the module docstring)."""
    by_id = plant.equipment_by_id()
    ids = [eq_id for *_, line in plant.iter_lines() for eq_id in line.flow if eq_id in by_id]
    ids += [eq.id for *_, eq in plant.iter_equipment()]
    units: list[Unit] = []
    for eq_id in dict.fromkeys(ids):  # flow order first, each once
        eq = by_id[eq_id]
        tags = eq.all_tags
        if not tags:
            continue
        if len(units) == MAX_UNITS:
            raise ValueError(t("modbus.sim.too_many_units", "en", max=MAX_UNITS))
        slots = []
        for k, tag in enumerate(tags):
            encoding = _encoding(tag)
            if encoding is not None:
                writable = tag.writable and tag.id in SETTERS and encoding in ("float32", "uint32")
                slots.append(Slot(tag, 2 * k, encoding, writable))
        units.append(Unit(len(units) + 1, eq, slots, 2 * len(tags)))
    return units


def _entry(slot: Slot) -> dict[str, Any]:
    tag = slot.tag
    if slot.encoding == "bool":
        return {"tag": tag.path, "table": "discrete", "address": slot.address, "type": "bool"}
    entry: dict[str, Any] = {"tag": tag.path, "table": "holding" if slot.writable else "input",
                             "address": slot.address}
    if slot.encoding == "state":
        entry |= {"type": "uint16", "enum": {code: state for state, code in STATE_CODES.items()}}
    else:
        entry["type"] = slot.encoding
    return entry


def modbus_connector_config(plant: Plant, host: str, port: int, rate_ms: int = 1000) -> dict[str, Any]:
    """Settings of a ``modbus`` connector that reads every served tag of the simulator at ``host:port``:
    one device per unit, one polling group of ``rate_ms``; writable tags map to holding registers."""
    return {"devices": [
        {"name": unit.equipment.id, "host": host, "port": port, "unit_id": unit.unit_id,
         "groups": [{"name": "values", "rate_ms": rate_ms, "registers": [_entry(s) for s in unit.slots]}]}
        for unit in modbus_layout(plant) if unit.slots]}


@dataclass
class _Memory:
    """The registers of one unit, kept up to date from the bus; pymodbus reads them through the action hook."""

    unit: Unit
    inputs: list[int]
    holdings: list[int]
    discretes: list[bool]
    by_address: dict[int, Slot] = field(default_factory=dict)


class ModbusSimServer:
    """A running server; ``await stop()`` ends it. ``port`` is the port it listens on."""

    def __init__(self, sim: PlantSimulator, plant: Plant, bus: Bus) -> None:
        self.sim, self.plant, self.bus = sim, plant, bus
        self.units = modbus_layout(plant)
        self.memory: dict[int, _Memory] = {}
        self.topics: dict[str, tuple[_Memory, Slot]] = {}
        self.encode_errors = 0  # bus values a register cannot hold (e.g. a negative counter)
        self.writes = 0
        self.port = 0
        self._server: ModbusTcpServer | None = None
        self._off: Any = None
        for unit in self.units:
            bits = max(16, -(-unit.size // 16) * 16)
            mem = _Memory(unit, [0] * unit.size, [0] * unit.size, [False] * bits)
            for slot in unit.slots:
                mem.by_address[slot.address] = slot
                self.topics[slot.tag.path] = (mem, slot)
                if slot.encoding == "float32":
                    mem.inputs[slot.address:slot.address + 2] = NAN_FLOAT32
            self.memory[unit.unit_id] = mem
        self._initial_setpoints()

    def _initial_setpoints(self) -> None:
        machines = {m["id"]: m for line in self.sim.status()["lines"] for m in line["machines"]}
        for mem in self.memory.values():
            for slot in mem.unit.slots:
                value = machines.get(mem.unit.equipment.id, {}).get(slot.tag.id)
                if slot.writable and value is not None:
                    self._store(mem, slot, value)

    # ---- values from the bus ---------------------------------------------------------
    def _on_message(self, msg: Message) -> None:
        found = self.topics.get(msg.topic)
        if found is not None:
            self._store(*found, msg.payload.get("v"))

    def _store(self, mem: _Memory, slot: Slot, value: Any) -> None:
        a = slot.address
        try:
            if slot.encoding == "bool":
                mem.discretes[a] = bool(value)
                return
            if slot.encoding == "state":
                registers = [STATE_CODES.get(value, 0), 0]
            else:
                registers = encode(value, slot.encoding)
        except (CodecError, TypeError):
            self.encode_errors += 1
            return
        mem.inputs[a:a + 2] = registers
        if slot.writable:
            mem.holdings[a:a + 2] = registers

    # ---- requests ----------------------------------------------------------------------
    async def _action(self, unit_id: int, function_code: int, start_address: int, address: int, count: int,
                      current_registers: list[int], set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        """pymodbus calls this on every request (after its address checks): answer from memory, apply writes."""
        mem = self.memory[unit_id]
        if function_code == 4:
            current_registers[address - start_address:address - start_address + count] = \
                mem.inputs[address:address + count]
        elif function_code == 3:
            current_registers[address - start_address:address - start_address + count] = \
                mem.holdings[address:address + count]
        elif function_code == 2:
            bits = mem.discretes
            packed = [sum(1 << i for i, b in enumerate(bits[r:r + 16]) if b) for r in range(0, len(bits), 16)]
            current_registers[:len(packed)] = packed
        elif function_code in (6, 16) and set_values is not None:
            return self._write(mem, address, [int(v) for v in set_values])
        elif function_code in (5, 15):  # no coils (pymodbus does not enforce read-only bits)
            return ExcCodes.ILLEGAL_ADDRESS
        elif function_code in (22, 23):  # mask write, read/write: would bypass the simulator's checks
            return ExcCodes.ILLEGAL_FUNCTION
        return None

    @staticmethod
    async def _no_unit(*_: Any) -> ExcCodes:
        return ExcCodes.GATEWAY_NO_RESPONSE

    def _write(self, mem: _Memory, address: int, values: list[int]) -> ExcCodes | None:
        new = list(mem.holdings)
        new[address:address + len(values)] = values
        touched = {a - a % 2 for a in range(address, address + len(values))}
        for a in sorted(touched):
            slot = mem.by_address.get(a)
            if slot is None or not slot.writable:
                return ExcCodes.ILLEGAL_ADDRESS
            try:
                value = decode(new[a:a + 2], slot.encoding)
                SETTERS[slot.tag.id](self.sim, mem.unit.equipment.id, value)
            except (CodecError, SimError) as exc:
                log.info("modbus write to unit %d address %d refused: %s", mem.unit.unit_id, a, exc)
                return ExcCodes.ILLEGAL_VALUE
        mem.holdings[:] = new
        self.writes += 1
        return None

    def _devices(self) -> list[SimDevice]:
        devices = []
        for unit_id, mem in self.memory.items():
            unit = mem.unit
            holding = [SimData(s.address, count=2, values=0, datatype=DataType.REGISTERS)
                       for s in unit.slots if s.writable] or [SimData(0, datatype=DataType.INVALID)]
            devices.append(SimDevice(
                unit_id,
                simdata=([SimData(0, values=[False] * 16, datatype=DataType.BITS, readonly=True)],
                         [SimData(0, values=[False] * len(mem.discretes), datatype=DataType.BITS, readonly=True)],
                         holding,
                         [SimData(0, count=unit.size, values=0, datatype=DataType.REGISTERS, readonly=True)]),
                action=partial(self._action, unit_id)))
        # Unit 0 stands for every unit id not served: it answers as a gateway whose target is absent.
        every = 65536
        devices.append(SimDevice(0, simdata=(
            [SimData(0, values=[False] * every, datatype=DataType.BITS)],
            [SimData(0, values=[False] * every, datatype=DataType.BITS)],
            [SimData(0, count=every, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=every, values=0, datatype=DataType.REGISTERS)]), action=self._no_unit))
        return devices

    async def start(self, host: str, port: int) -> None:
        server = ModbusTcpServer(self._devices(), address=(host, port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError:
            raise OSError(t("modbus.sim.cannot_listen", "en", host=host, port=port)) from None
        self._server = server
        self.port = server.transport.sockets[0].getsockname()[1]
        self._off = self.bus.on("#", self._on_message)

    async def stop(self) -> None:
        if self._off is not None:
            self._off()
            self._off = None
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()


async def serve_modbus(sim: PlantSimulator, plant: Plant, bus: Bus, port: int,
                       host: str = "127.0.0.1") -> ModbusSimServer:
    """Serve the simulated plant over Modbus TCP on ``host:port`` (port 0: any free port, see ``.port``)."""
    server = ModbusSimServer(sim, plant, bus)
    await server.start(host, port)
    return server
