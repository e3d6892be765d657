"""The Modbus TCP client connector (pymodbus asyncio client).

Each device has its own connection, kept by a background task that connects,
runs one polling task per group and, when the connection is lost, waits with
doubling back-off (``reconnect_min_ms`` .. ``reconnect_max_ms``) and connects
again. A group reads its entries in as few requests as possible (contiguous
addresses of one table coalesced, at most 125 registers per request), stamps
each block with ``ctx.clock`` when its response arrives, and submits the
group's points in one batch.

Register map entries name their plant tag by UNS path (see ``config.py``); at
start, entries the plant cannot take (``unknown_tag``, ``tag_type``) are left out
and tags bound to the connector by ``source`` but not mapped are reported
(``unmapped_tag``), each counted and dead-lettered once.

Problems are counted per cause in ``health().counters``: Modbus exception
responses by exception name (``illegal_address``, ``illegal_function``,
``device_busy``...), ``timeout``, ``connection_lost``, ``connect_failed``,
``non_finite``, ``unknown_code`` and ``decode_error`` (values that cannot become
points), ``overrun`` (a poll took longer than the group's rate), ``spool_full`` (points
the platform could not take: its store-and-forward spool is full), and for
write-back ``writes``, ``write_refused``, ``write_failed``. A group's exception
responses and undecodable values are dead-lettered once per error streak (until
a poll of the group succeeds completely), not on every poll; timeouts and a
full spool are counted only. A failing block leaves the rest of its group, the other groups and
the other devices running.

State: ``connected`` when every device is connected and every group reads without
exception responses or timeouts; ``degraded`` when some device is down, some group
fails or some register map entries do not fit the plant (``detail`` says which);
``disconnected`` when no device is connected; ``error`` when nothing can be polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from zhizao.assets.model import Tag
from zhizao.connect.base import Connector, WriteError
from zhizao.connect.modbus.codec import CodecError, decode, encode, to_engineering, to_raw
from zhizao.connect.modbus.config import BIT_TABLES, ModbusConfig, ModbusDevice, PollGroup, RegisterEntry
from zhizao.connect.modbus.mapping import BindingProblem, Block, check_bindings, plan_blocks
from zhizao.core.i18n import t
from zhizao.store.historian import Point
from zhizao.store.spool import SpoolFull

if TYPE_CHECKING:
    from zhizao.core.context import Context

log = logging.getLogger(__name__)

# Modbus exception codes (application protocol v1.1b3, section 7) by the name they are counted under.
EXCEPTION_NAMES = {
    1: "illegal_function", 2: "illegal_address", 3: "illegal_value", 4: "device_failure", 5: "acknowledge",
    6: "device_busy", 7: "negative_acknowledge", 8: "memory_parity_error", 10: "gateway_path_unavailable",
    11: "gateway_no_response",
}
# Values that could not become points: dead-lettered and counted, but the link itself is fine.
VALUE_CAUSES = frozenset({"non_finite", "unknown_code", "decode_error"})
TABLE_NAMES = {"holding": "holding registers", "input": "input registers", "coil": "coils",
               "discrete": "discrete inputs"}


def _raise_if_cancelled() -> None:
    """pymodbus awaits ``asyncio.wait_for``, which on Python 3.11 can swallow a cancellation that
    arrives together with the response; honour it here so that ``stop()`` never waits forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def exception_name(code: int) -> str:
    return EXCEPTION_NAMES.get(code, f"exception_{code}")


class ModbusWriteError(WriteError):
    """A refused write or read-back; ``message(lang)`` gives the catalogued text."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        # A nested catalogued error (a CodecError as the reason) is shown in the same language.
        params = {k: v.message(lang) if isinstance(v, CodecError) else v for k, v in self.params.items()}
        return t(self.key, lang, **params)


@dataclass
class _Group:
    spec: PollGroup
    blocks: list[Block]
    failing: set[str] = field(default_factory=set)  # causes already dead-lettered in the current error streak


@dataclass
class _Device:
    spec: ModbusDevice
    groups: list[_Group]
    state: str = "connecting"  # connecting | connected | disconnected
    detail: str = ""
    client: AsyncModbusTcpClient | None = None
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class ModbusConnector(Connector):
    kind: ClassVar[str] = "modbus"
    config_model = ModbusConfig
    title: ClassVar[dict[str, str]] = {"en": "Modbus TCP", "zh": "Modbus TCP"}

    config: ModbusConfig

    def __init__(self, name: str, config: ModbusConfig, ctx: Context) -> None:
        super().__init__(name, config, ctx)
        self._devices: list[_Device] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._problems: list[BindingProblem] = []
        self._entries: dict[str, tuple[_Device, RegisterEntry]] = {}  # tag path -> where it is read
        self._kinds: dict[str, str] = {}  # tag path -> data type

    @property
    def tags(self) -> list[Tag]:
        """The plant tags the register map feeds (the map is the binding, not ``source``)."""
        index = self.ctx.plant.tag_index()
        return [index[path] for path in self._entries if path in index]

    # ---- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        self.set_state("starting")
        index = self.ctx.plant.tag_index()
        self._problems = check_bindings(index, self.name, self.config)
        unusable = {p.tag for p in self._problems if p.cause != "unmapped_tag"}
        self._devices, self._entries = [], {}
        self._kinds = {path: tag.data_type for path, tag in index.items()}
        for spec in self.config.devices:
            groups = []
            for g in spec.groups:
                entries = [e for e in g.registers if e.tag not in unusable]
                if entries:
                    groups.append(_Group(g, plan_blocks(entries, spec.max_registers)))
            if groups:
                device = _Device(spec, groups)
                self._devices.append(device)
                for g in groups:
                    for block in g.blocks:
                        self._entries.update((e.tag, (device, e)) for e in block.entries)
        for problem in self._problems:
            self.count(problem.cause)
            await self.ctx.services["ingest"].dead_letter(self.name, problem.cause, problem.message(),
                                                          tag=problem.tag)
        if not self._devices:
            self.set_state("error", t("modbus.state.nothing_to_poll", "en"))
            return
        self._tasks = [asyncio.create_task(self._run_device(d), name=f"modbus-{self.name}-{d.spec.name}")
                       for d in self._devices]
        self._update_state()

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for device in self._devices:
            if device.client is not None:
                device.client.close()
                device.client = None
        self.set_state("stopped")

    # ---- connection per device --------------------------------------------------------
    async def _run_device(self, device: _Device) -> None:
        spec = device.spec
        delay = self.config.reconnect_min_ms / 1000
        while True:
            device.lost.clear()
            # reconnect_delay=0: no reconnecting inside pymodbus; this loop does it, with back-off.
            client = AsyncModbusTcpClient(spec.host, port=spec.port, timeout=spec.timeout_ms / 1000,
                                          retries=spec.retries, reconnect_delay=0,
                                          name=f"{self.name}/{spec.name}",
                                          trace_connect=lambda up, d=device: None if up else d.lost.set())
            device.client = client
            connected = await client.connect()
            _raise_if_cancelled()
            if connected:
                delay = self.config.reconnect_min_ms / 1000
                device.state, device.detail = "connected", ""
                self._update_state()
                pollers = [asyncio.create_task(self._poll_group(device, g)) for g in device.groups]
                try:
                    await device.lost.wait()
                finally:
                    for task in pollers:
                        task.cancel()
                    await asyncio.gather(*pollers, return_exceptions=True)
                    client.close()
                self.count("connection_lost")
                device.detail = t("modbus.state.lost", "en", host=spec.host, port=spec.port)
            else:
                client.close()
                self.count("connect_failed")
                device.detail = t("modbus.state.cannot_connect", "en", host=spec.host, port=spec.port)
            device.client = None
            device.state = "disconnected"
            self._update_state()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_ms / 1000)

    def _update_state(self) -> None:
        devices = self._devices
        if all(d.state == "connecting" for d in devices):
            return
        up = [d for d in devices if d.state == "connected"]
        if not up:
            self.set_state("disconnected", "; ".join(f"{d.spec.name}: {d.detail}" for d in devices))
            return
        issues = [f"{d.spec.name}: {d.detail or d.state}" for d in devices if d.state != "connected"]
        issues += [f"{d.spec.name}/{g.spec.name}: {', '.join(sorted(causes))}"
                   for d in up for g in d.groups if (causes := g.failing - VALUE_CAUSES)]
        if self._problems:
            issues.append(t("modbus.state.map_problems", "en", n=len(self._problems)))
        self.set_state("degraded" if issues else "connected", "; ".join(issues))

    # ---- polling ----------------------------------------------------------------------
    async def _poll_group(self, device: _Device, group: _Group) -> None:
        loop = asyncio.get_running_loop()
        period = group.spec.rate_ms / 1000
        next_at = loop.time()
        while True:
            try:
                await self._poll_once(device, group)
            except ConnectionException:
                device.lost.set()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one group must not stop the others
                log.exception("modbus %s: polling %s/%s failed", self.name, device.spec.name, group.spec.name)
                self.count("poll_error")
            _raise_if_cancelled()
            next_at += period
            now = loop.time()
            if next_at < now:  # the poll took longer than the rate: skip the missed turns
                self.count("overrun")
                next_at = now
            await asyncio.sleep(next_at - now)

    async def _read(self, device: _Device, table: str, address: int, count: int) -> Any:
        client = device.client
        if client is None:
            raise ConnectionException("not connected")
        read = {"holding": client.read_holding_registers, "input": client.read_input_registers,
                "coil": client.read_coils, "discrete": client.read_discrete_inputs}[table]
        return await read(address, count=count, device_id=device.spec.unit_id)

    async def _poll_once(self, device: _Device, group: _Group) -> None:
        points: list[Point] = []
        errors: dict[str, list[str]] = {}
        error_tags: dict[str, list[str]] = {}
        for block in group.blocks:
            where = t("modbus.where", "en", device=device.spec.name, unit=device.spec.unit_id,
                      group=group.spec.name, table=TABLE_NAMES[block.table], first=block.address,
                      last=block.address + block.count - 1)
            try:
                response = await self._read(device, block.table, block.address, block.count)
            except ModbusIOException:
                cause, detail = "timeout", t("modbus.read.timeout", "en", where=where)
            else:
                if response.isError():
                    code = getattr(response, "exception_code", 0)
                    cause = exception_name(code)
                    detail = t("modbus.read.exception", "en", where=where, name=cause, code=code)
                else:
                    ts = self.ctx.clock.now_ms()
                    values = response.bits if block.table in BIT_TABLES else response.registers
                    for entry in block.entries:
                        value, bad = self._value(entry, values[entry.address - block.address:][:entry.count])
                        if bad is None:
                            points.append(Point(entry.tag, ts, value))
                        else:
                            self.count(bad[0])
                            errors.setdefault(bad[0], []).append(bad[1])
                            error_tags.setdefault(bad[0], []).append(entry.tag)
                    continue
            self.count(cause)
            errors.setdefault(cause, []).append(detail)
            error_tags.setdefault(cause, []).extend(e.tag for e in block.entries)
        if points:
            try:
                await self.submit(points)
            except SpoolFull:  # the platform refuses input for now; the next poll reads fresh values
                self.count("spool_full", len(points))
                errors["spool_full"] = []
        await self._streak(device, group, errors, error_tags)

    def _value(self, entry: RegisterEntry, registers: list[int] | list[bool]) -> tuple[Any, tuple[str, str] | None]:
        """The engineering value of one entry, or (None, (cause, detail)) when it cannot become a point."""
        try:
            raw = decode(list(registers), entry.type or "uint16", entry.word_order, entry.byte_order)
        except CodecError as exc:
            return None, ("decode_error", f"{entry.tag}: {exc}")
        if entry.enum is not None:
            label = entry.enum.get(int(raw))
            if label is None:
                return None, ("unknown_code", t("modbus.read.unknown_code", "en", tag=entry.tag, code=raw,
                                                known=", ".join(map(str, entry.enum))))
            return label, None
        value = to_engineering(raw, entry.scale, entry.offset)
        if isinstance(value, float):
            if not math.isfinite(value):
                return None, ("non_finite", t("modbus.read.non_finite", "en", tag=entry.tag, value=value))
            if self._kinds.get(entry.tag) == "int" and value.is_integer():
                value = int(value)
        return value, None

    async def _streak(self, device: _Device, group: _Group, errors: dict[str, list[str]],
                      error_tags: dict[str, list[str]]) -> None:
        """Dead-letter each cause once per error streak of the group; a clean poll ends the streak."""
        was_failing = bool(group.failing)
        if not errors:
            group.failing.clear()
        for cause, details in errors.items():
            if cause in group.failing:
                continue
            group.failing.add(cause)
            if cause in ("timeout", "spool_full"):  # not bad input: counted and shown in the state only
                continue
            payload = {"device": device.spec.name, "host": device.spec.host, "port": device.spec.port,
                       "unit_id": device.spec.unit_id, "group": group.spec.name, "tags": error_tags[cause]}
            await self.ctx.services["ingest"].dead_letter(self.name, cause, "; ".join(details), payload,
                                                          tag=error_tags[cause][0])
        if was_failing != bool(group.failing) or errors:
            self._update_state()

    # ---- write-back -------------------------------------------------------------------
    def _entry(self, tag: Tag) -> tuple[_Device, RegisterEntry]:
        found = self._entries.get(tag.path)
        if found is None:
            raise ModbusWriteError("modbus.write.unmapped", tag=tag.path, connector=self.name)
        return found

    def _client(self, device: _Device, tag: Tag) -> AsyncModbusTcpClient:
        if device.state != "connected" or device.client is None:
            raise ModbusWriteError("modbus.write.not_connected", tag=tag.path, device=device.spec.name,
                                   host=device.spec.host, port=device.spec.port)
        return device.client

    async def write(self, tag: Tag, value: Any) -> None:
        device, entry = self._entry(tag)
        if not tag.writable:
            raise ModbusWriteError("modbus.write.not_writable", tag=tag.path)
        if entry.table not in ("holding", "coil"):
            raise ModbusWriteError("modbus.write.read_only_table", tag=tag.path, table=TABLE_NAMES[entry.table])
        if entry.enum is not None:
            codes = {label: code for code, label in entry.enum.items()}
            if value not in codes:
                raise ModbusWriteError("modbus.write.enum", tag=tag.path, value=value, known=", ".join(codes))
            value = codes[value]
        elif (tag.range is not None and not isinstance(value, bool) and isinstance(value, int | float)
              and math.isfinite(value)):  # not a finite number: the codec says so below
            low, high = tag.range
            if not low <= value <= high:
                raise ModbusWriteError("modbus.write.range", tag=tag.path, value=value, low=f"{low:g}",
                                       high=f"{high:g}", unit=tag.unit)
        try:
            raw = to_raw(value, entry.type or "uint16", entry.scale, entry.offset)
            registers = encode(raw, entry.type or "uint16", entry.word_order, entry.byte_order)
        except CodecError as exc:
            raise ModbusWriteError("modbus.write.encode", tag=tag.path, reason=exc) from None
        client = self._client(device, tag)
        unit = device.spec.unit_id
        try:
            if entry.table == "coil":
                response = await client.write_coil(entry.address, bool(registers[0]), device_id=unit)
            elif len(registers) == 1:
                response = await client.write_register(entry.address, registers[0], device_id=unit)
            else:
                response = await client.write_registers(entry.address, registers, device_id=unit)
        except ModbusException as exc:
            self.count("write_failed")
            raise ModbusWriteError("modbus.write.io", tag=tag.path, device=device.spec.name, reason=str(exc)) \
                from None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            self.count("write_refused")
            raise ModbusWriteError("modbus.write.refused", tag=tag.path, device=device.spec.name,
                                   name=exception_name(code), code=code)
        self.count("writes")

    async def read(self, tag: Tag) -> Any:
        device, entry = self._entry(tag)
        self._client(device, tag)  # connected?
        try:
            response = await self._read(device, entry.table, entry.address, entry.count)
        except ModbusException as exc:
            raise ModbusWriteError("modbus.write.io", tag=tag.path, device=device.spec.name, reason=str(exc)) \
                from None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise ModbusWriteError("modbus.read.refused", tag=tag.path, device=device.spec.name,
                                   name=exception_name(code), code=code)
        values = response.bits if entry.table in BIT_TABLES else response.registers
        value, bad = self._value(entry, values[:entry.count])
        if bad is not None:
            raise ModbusWriteError("modbus.read.bad_value", tag=tag.path, reason=bad[1])
        return value
