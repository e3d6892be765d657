"""The register map against the plant, and the block reads that cover it (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from zhizao.assets.model import Tag
from zhizao.connect.modbus.config import BIT_TABLES, MAX_BITS, ModbusConfig, RegisterEntry
from zhizao.core.i18n import t

INT_TYPES = ("int16", "uint16", "int32", "uint32")


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers (or bits) of ``table`` from ``address``, covering ``entries``."""

    table: str
    address: int
    count: int
    entries: tuple[RegisterEntry, ...]


def plan_blocks(entries: Iterable[RegisterEntry], max_registers: int) -> list[Block]:
    """Coalesce entries with contiguous (or overlapping) addresses of one table into block reads.

    A block never exceeds ``max_registers`` registers (``MAX_BITS`` bits for coils and
    discrete inputs); gaps are never read, as a device may refuse unmapped addresses.
    """
    by_table: dict[str, list[RegisterEntry]] = {}
    for e in entries:
        by_table.setdefault(e.table, []).append(e)
    blocks: list[Block] = []
    for table in sorted(by_table):
        limit = MAX_BITS if table in BIT_TABLES else max_registers
        start = end = -1
        members: list[RegisterEntry] = []
        for e in sorted(by_table[table], key=lambda e: (e.address, e.count)):
            e_end = e.address + e.count  # exclusive
            if members and e.address <= end and max(end, e_end) - start <= limit:
                members.append(e)
                end = max(end, e_end)
                continue
            if members:
                blocks.append(Block(table, start, end - start, tuple(members)))
            start, end, members = e.address, e_end, [e]
        if members:
            blocks.append(Block(table, start, end - start, tuple(members)))
    return blocks


@dataclass(frozen=True, slots=True)
class BindingProblem:
    """A register map entry the plant cannot take, or a tag bound to the connector but not mapped."""

    cause: str  # unknown_tag | tag_type | unmapped_tag
    tag: str
    key: str  # catalogue key of the message
    params: dict[str, object]

    def message(self, lang: str = "en") -> str:
        return t(self.key, lang, **self.params)


def _type_problem(entry: RegisterEntry, tag: Tag) -> str | None:
    """Catalogue key when the entry's register type cannot feed the tag's data type."""
    if tag.data_type == "string":
        return None if entry.enum is not None else "modbus.map.string_needs_enum"
    if entry.enum is not None:
        return "modbus.map.enum_needs_string"
    if tag.data_type == "bool":
        return None if entry.type == "bool" else "modbus.map.bool_needs_bit"
    if entry.type == "bool":
        return "modbus.map.bit_needs_bool"
    if tag.data_type == "int" and entry.type not in INT_TYPES:
        return "modbus.map.int_needs_int"
    return None


def check_bindings(tags: Mapping[str, Tag], connector: str, config: ModbusConfig) -> list[BindingProblem]:
    """Every entry must name a plant tag its type can feed; tags whose ``source`` names
    ``connector`` must be mapped. ``tags`` is the plant's tag index (path -> tag)."""
    problems: list[BindingProblem] = []
    mapped: set[str] = set()
    for i, device in enumerate(config.devices):
        for group in device.groups:
            for j, entry in enumerate(group.registers):
                where = f"devices[{i}] ({device.name}) group '{group.name}' registers[{j}]"
                mapped.add(entry.tag)
                tag = tags.get(entry.tag)
                if tag is None:
                    problems.append(BindingProblem("unknown_tag", entry.tag, "modbus.map.unknown_tag",
                                                   {"where": where, "tag": entry.tag}))
                elif (key := _type_problem(entry, tag)) is not None:
                    problems.append(BindingProblem("tag_type", entry.tag, key, {
                        "where": where, "tag": entry.tag, "type": entry.type, "data_type": tag.data_type}))
    for path, tag in tags.items():
        if tag.source.connector == connector and path not in mapped:
            problems.append(BindingProblem("unmapped_tag", path, "modbus.map.unmapped_tag",
                                           {"tag": path, "connector": connector}))
    return problems
