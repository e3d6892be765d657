"""Declared settings of the Modbus TCP connector.

Binding: each register map entry names the plant tag it feeds by its UNS path
(``tag:``). The register map is the one place that says where a value lives on
the device; a tag's own ``source`` is not needed for it. Tags whose ``source``
names this connector but that no entry maps are reported when the connector
starts (``unmapped_tag``), as are entries naming tags the plant does not have.

Example (plant YAML)::

    connectors:
      - name: plc1
        kind: modbus
        config:
          devices:
            - name: cnc1
              host: 192.168.0.10
              unit_id: 1
              groups:
                - name: fast
                  rate_ms: 500
                  registers:
                    - {tag: acme/s1/a1/l1/c1/cnc1/temperature, table: input, address: 0, type: float32}
                    - {tag: acme/s1/a1/l1/c1/cnc1/feed_override, table: holding, address: 100, type: uint16,
                       scale: 0.1}
                - name: slow
                  rate_ms: 5000
                  registers:
                    - {tag: acme/s1/a1/l1/c1/cnc1/state, table: input, address: 20, type: uint16,
                       enum: {1: running, 2: idle, 3: setup, 4: down, 5: maintenance, 6: off}}
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhizao.connect.base import ConnectorConfig
from zhizao.connect.modbus.codec import Order, RegType, register_count

Table = Literal["holding", "input", "coil", "discrete"]
BIT_TABLES = ("coil", "discrete")
NAME_PATTERN = r"^[a-z0-9_-]+$"
TAG_PATTERN = r"^[a-z0-9_-]+(/[a-z0-9_-]+)+$"
MAX_REGISTERS = 125  # per read request (Modbus application protocol, function codes 3 and 4)
MAX_BITS = 2000  # per read request (function codes 1 and 2)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterEntry(_Strict):
    """One value on the device and the plant tag it feeds."""

    tag: str = Field(pattern=TAG_PATTERN, description="UNS path of the plant tag")
    table: Table = "holding"
    address: int = Field(ge=0, le=65535, description="0-based protocol address (register 40001 is 0)")
    type: RegType | None = Field(None, description="default: bool for coil/discrete, uint16 for registers")
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = Field(1.0, description="engineering value = raw * scale + offset")
    offset: float = 0.0
    enum: dict[int, str] | None = Field(None, description="raw code -> text, for string tags (e.g. machine state)")

    @model_validator(mode="after")
    def _consistent(self) -> RegisterEntry:
        bits = self.table in BIT_TABLES
        if self.type is None:
            self.type = "bool" if bits else "uint16"
        if bits != (self.type == "bool"):
            raise ValueError(f"type: '{self.type}' does not fit table '{self.table}' "
                             "(coil and discrete hold bool; holding and input hold numbers)")
        if not (math.isfinite(self.scale) and self.scale != 0):
            raise ValueError(f"scale: must be a finite number other than 0, not {self.scale}")
        if not math.isfinite(self.offset):
            raise ValueError(f"offset: must be a finite number, not {self.offset}")
        if self.address + self.count - 1 > 65535:
            raise ValueError(f"address: {self.type} at {self.address} runs past the last address 65535")
        if self.enum is not None:
            if self.type not in ("int16", "uint16", "int32", "uint32"):
                raise ValueError(f"enum: needs an integer type, not '{self.type}'")
            if self.scale != 1.0 or self.offset != 0.0:
                raise ValueError("enum: codes are raw values; leave scale and offset out")
        return self

    @property
    def count(self) -> int:
        return register_count(self.type or "uint16")


class PollGroup(_Strict):
    """Registers read together on one schedule."""

    name: str = Field(pattern=NAME_PATTERN)
    rate_ms: int = Field(1000, ge=10, le=86_400_000, description="polling period")
    registers: list[RegisterEntry] = Field(min_length=1)


class ModbusDevice(_Strict):
    """One Modbus TCP server (PLC, gateway unit); it gets its own connection."""

    name: str = Field(pattern=NAME_PATTERN)
    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)
    unit_id: int = Field(1, ge=0, le=255, description="Modbus unit (slave) id")
    timeout_ms: int = Field(1000, ge=10, le=60_000, description="per request")
    retries: int = Field(1, ge=0, le=10, description="repeats of a request that timed out")
    max_registers: int = Field(MAX_REGISTERS, ge=1, le=MAX_REGISTERS,
                               description="largest block read (lower it for devices that need it)")
    groups: list[PollGroup] = Field(min_length=1)

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: list[PollGroup]) -> list[PollGroup]:
        seen: set[str] = set()
        for i, g in enumerate(groups):
            if g.name in seen:
                raise ValueError(f"groups[{i}].name: duplicate group name '{g.name}'")
            seen.add(g.name)
        return groups

    @model_validator(mode="after")
    def _fits_block(self) -> ModbusDevice:
        for g in self.groups:
            for j, e in enumerate(g.registers):
                if e.table not in BIT_TABLES and e.count > self.max_registers:
                    raise ValueError(f"groups '{g.name}' registers[{j}]: {e.type} needs {e.count} registers, "
                                     f"more than max_registers {self.max_registers}")
        return self


class ModbusConfig(ConnectorConfig):
    devices: list[ModbusDevice] = Field(min_length=1)
    reconnect_min_ms: int = Field(500, ge=10, le=600_000, description="first wait before reconnecting")
    reconnect_max_ms: int = Field(30_000, ge=10, le=3_600_000, description="the wait doubles up to this")

    @field_validator("devices")
    @classmethod
    def _unique(cls, devices: list[ModbusDevice]) -> list[ModbusDevice]:
        names: set[str] = set()
        tags: dict[str, str] = {}
        for i, d in enumerate(devices):
            if d.name in names:
                raise ValueError(f"devices[{i}].name: duplicate device name '{d.name}'")
            names.add(d.name)
            for g in d.groups:
                for j, e in enumerate(g.registers):
                    where = f"devices[{i}] ({d.name}) group '{g.name}' registers[{j}]"
                    if e.tag in tags:
                        raise ValueError(f"{where}.tag: '{e.tag}' is already mapped by {tags[e.tag]}")
                    tags[e.tag] = where
        return devices

    @model_validator(mode="after")
    def _backoff(self) -> ModbusConfig:
        if self.reconnect_max_ms < self.reconnect_min_ms:
            raise ValueError("reconnect_max_ms: must be >= reconnect_min_ms")
        return self
