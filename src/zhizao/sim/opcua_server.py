"""The simulated plant as an OPC UA server, so connectors can be tried without a real PLC.

    handle = await serve_opcua(sim, plant, bus, 4840)         # opc.tcp://127.0.0.1:4840/zhizao
    ...
    await handle.stop()

The address space follows the asset model: ``Objects/<enterprise>/<site>/<area>/<line>/
<cell>/<equipment>/<tag>``, folders down to the cell, an object per equipment and a
variable per tag, in the namespace ``urn:zhizao:plant`` with string NodeIds equal to
UNS paths (``ns=2;s=zhizao/suzhou/machining/line1/turning/cnc1/temperature``).
Variables have the tag's type (float → Double, int → Int64, bool → Boolean,
string → String), its English description and its unit (EngineeringUnits).

Values come from the bus (what the simulator publishes) with the message's timestamp
as source timestamp and ``q`` as status. Until its first value a variable reads
``BadWaitingForInitialData``. Tags flagged ``writable`` are writable variables;
a client's write to ``feed_override`` goes to ``sim.set_feed_override`` (out of range:
``BadOutOfRange``), and any write is kept and read back.

Security ``"none"`` offers policy None; ``"both"`` adds Basic256Sha256 Sign&Encrypt
with a self-signed certificate made in (or reused from) ``cert_dir``. With ``users``
(name → password) sessions must log in; without, they are anonymous.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from zhizao.connect.opcua.codec import (
    NAMESPACE_URI,
    VARIANT_OF_TYPE,
    datetime_of,
    ms_of,
    status_for_quality,
    to_tag_value,
)
from zhizao.sim.model import SimError

if TYPE_CHECKING:
    from asyncua.server.address_space import AttributeValue, NodeData

    from zhizao.assets.model import Plant, Tag, Text
    from zhizao.bus import Bus, Subscription
    from zhizao.sim.service import PlantSimulator

log = logging.getLogger(__name__)

Security = Literal["none", "both"]
APPLICATION_URI = "urn:zhizao:sim:opcua"
EU_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
CERT_FILE, KEY_FILE = "server_cert.der", "server_key.pem"


class _Users:
    """asyncua user manager: name/password pairs, or anonymous sessions when there are none."""

    def __init__(self, users: dict[str, str] | None) -> None:
        self.users = dict(users or {})

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if not self.users:
            return User(role=UserRole.User)
        expected = self.users.get(username or "")
        if expected is None or password is None:
            return None
        if not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return User(role=UserRole.User, name=username)


@dataclass
class _Var:
    tag: Tag
    equipment_id: str
    vtype: ua.VariantType
    attr: AttributeValue  # the Value attribute in the server's address space


class OpcUaServerHandle:
    """A running server: its endpoint ``url``, the server certificate, counters, ``stop()``."""

    def __init__(self, server: Server, url: str, namespace_index: int, variables: dict[str, _Var],
                 sim: PlantSimulator | None, certificate: Path | None) -> None:
        self.server = server
        self.url = url
        self.namespace_index = namespace_index
        self.certificate = certificate
        self.sim = sim
        self.updates = 0  # values taken from the bus
        self.writes = 0  # values written by clients
        self.skipped: Counter[str] = Counter()  # bus values not served, by reason
        self._vars = variables
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_hand = 0  # bus messages taken from the queue, not yet served

    @property
    def pending(self) -> int:
        """Bus messages not yet served (0: clients can see everything published so far)."""
        return (self._sub.queue.qsize() if self._sub is not None else 0) + self._in_hand

    @property
    def port(self) -> int:
        assert self.server.bserver is not None
        return self.server.bserver.port

    def node_id(self, path: str) -> str:
        return f"ns={self.namespace_index};s={path}"

    def read(self, path: str) -> ua.DataValue:
        """The variable's current DataValue (as a client would read it)."""
        return self._vars[path].attr.value  # type: ignore[return-value]

    async def set_value(self, path: str, value: Any, *, status: str | int = "Good", ts_ms: int | None = None) -> None:
        """Serve ``value`` with ``status`` (a status code name or number) and source time ``ts_ms``.

        Unlike a client write, a Bad status keeps the value, as many device gateways do:
        the connector then stores it with quality bad. ``value=None`` serves no value.
        """
        var = self._vars[path]
        code = getattr(ua.StatusCodes, status) if isinstance(status, str) else status
        variant = ua.Variant(None, ua.VariantType.Null) if value is None else ua.Variant(value, var.vtype)
        await self._serve(var, variant, ua.StatusCode(code), self._now_ms() if ts_ms is None else ts_ms)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        await self.server.stop()

    # ---- internals ------------------------------------------------------------------
    def _now_ms(self) -> int:
        return self.sim.clock.now_ms() if self.sim is not None else time.time_ns() // 1_000_000

    def _listen(self, bus: Bus, root: str) -> None:
        self._sub = bus.subscribe(f"{root}/#")
        self._task = asyncio.create_task(self._pump(), name="zhizao-opcua-server")

    async def _pump(self) -> None:
        assert self._sub is not None
        while True:
            batch = [await self._sub.get(), *self._sub.drain(10_000)]
            self._in_hand = len(batch)
            for msg in batch:
                var = self._vars.get(msg.topic)
                if var is None:
                    self.skipped["unknown_tag"] += 1
                else:
                    for item in msg.payload if isinstance(msg.payload, list) else (msg.payload,):
                        try:
                            await self._take(var, item)
                        except Exception:  # one bad value must not stop the server's updates
                            self.skipped["error"] += 1
                            log.exception("serving %s failed", msg.topic)
                self._in_hand -= 1

    async def _take(self, var: _Var, item: Any) -> None:
        try:
            v, ts, q = item["v"], int(item["ts"]), item.get("q", "good")
        except (TypeError, KeyError, ValueError):
            self.skipped["malformed"] += 1
            return
        value, why = to_tag_value(v, var.tag.data_type)
        if why:
            self.skipped["wrong_type"] += 1
            return
        self.updates += 1
        await self._serve(var, ua.Variant(value, var.vtype), status_for_quality(q), ts)

    async def _serve(self, var: _Var, variant: ua.Variant, status: ua.StatusCode, ts_ms: int) -> None:
        # Set in the address space directly rather than through write_attribute_value, which
        # would null the value of a Bad status and run the client-write hook (_client_write).
        dv = ua.DataValue(variant, StatusCode=status, SourceTimestamp=datetime_of(ts_ms),
                          ServerTimestamp=datetime.now(UTC))
        var.attr.value = dv
        var.attr.value_callback = None
        for handle, callback in list(var.attr.datachange_callbacks.items()):
            await callback(handle, dv)

    def _client_write(self, var: _Var, node: NodeData, attr: ua.AttributeIds, dv: ua.DataValue) -> None:
        """A client wrote a writable variable (asyncua has checked the variant type)."""
        value, why = to_tag_value(dv.Value.Value if dv.Value is not None else None, var.tag.data_type)
        if why:
            raise ua.UaStatusCodeError(ua.StatusCodes.BadTypeMismatch)
        low_high = var.tag.range
        if low_high is not None and isinstance(value, float | int) and not low_high[0] <= value <= low_high[1]:
            raise ua.UaStatusCodeError(ua.StatusCodes.BadOutOfRange)
        if var.tag.id == "feed_override" and self.sim is not None:
            try:
                self.sim.set_feed_override(var.equipment_id, float(value))
            except SimError as exc:
                raise ua.UaStatusCodeError(ua.StatusCodes.BadOutOfRange) from exc
        target = node.attributes[attr]
        # Stamped on the plant's clock, and after the value it replaces.
        previous = ms_of(target.value.SourceTimestamp) if target.value is not None else None
        ts = self._now_ms() if previous is None else max(self._now_ms(), previous + 1)
        target.value = dataclasses.replace(dv, SourceTimestamp=datetime_of(ts))
        target.value_callback = None
        self.writes += 1


def _text(text: Text, fallback: str) -> ua.LocalizedText:
    return ua.LocalizedText(text.en or fallback, "en")


def _object_item(parent: ua.NodeId, node_id: ua.NodeId, name: str, idx: int, display: ua.LocalizedText,
                 folder: bool) -> ua.AddNodesItem:
    attrs = ua.ObjectAttributes(DisplayName=display, Description=display, EventNotifier=0, WriteMask=0,
                                UserWriteMask=0)
    return ua.AddNodesItem(
        ParentNodeId=ua.ExpandedNodeId(parent.Identifier, parent.NamespaceIndex),
        ReferenceTypeId=ua.NodeId(ua.ObjectIds.Organizes),
        RequestedNewNodeId=ua.ExpandedNodeId(node_id.Identifier, node_id.NamespaceIndex),
        BrowseName=ua.QualifiedName(name, idx), NodeClass=ua.NodeClass.Object,
        NodeAttributes=attrs,
        TypeDefinition=ua.NodeId(ua.ObjectIds.FolderType if folder else ua.ObjectIds.BaseObjectType))


def _variable_items(parent: ua.NodeId, tag: Tag, idx: int) -> list[ua.AddNodesItem]:
    vtype = VARIANT_OF_TYPE[tag.data_type]
    access = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if tag.writable else 0)
    attrs = ua.VariableAttributes(
        DisplayName=ua.LocalizedText(tag.id), Description=_text(tag.description, tag.id),
        Value=ua.Variant(None, ua.VariantType.Null), DataType=ua.NodeId(vtype.value),
        ValueRank=ua.ValueRank.Scalar, AccessLevel=access, UserAccessLevel=access, WriteMask=0, UserWriteMask=0)
    items = [ua.AddNodesItem(
        ParentNodeId=ua.ExpandedNodeId(parent.Identifier, parent.NamespaceIndex),
        ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasComponent),
        RequestedNewNodeId=ua.ExpandedNodeId(tag.path, idx), BrowseName=ua.QualifiedName(tag.id, idx),
        NodeClass=ua.NodeClass.Variable, NodeAttributes=attrs,
        TypeDefinition=ua.NodeId(ua.ObjectIds.BaseDataVariableType))]
    if tag.unit:
        eu = ua.EUInformation(NamespaceUri=EU_NAMESPACE, UnitId=-1, DisplayName=ua.LocalizedText(tag.unit),
                              Description=ua.LocalizedText(tag.unit))
        prop = ua.VariableAttributes(
            DisplayName=ua.LocalizedText("EngineeringUnits"), Description=ua.LocalizedText("EngineeringUnits"),
            Value=ua.Variant(eu), DataType=ua.NodeId(ua.ObjectIds.EUInformation), ValueRank=ua.ValueRank.Scalar,
            AccessLevel=ua.AccessLevel.CurrentRead.mask, UserAccessLevel=ua.AccessLevel.CurrentRead.mask,
            WriteMask=0, UserWriteMask=0)
        items.append(ua.AddNodesItem(
            ParentNodeId=ua.ExpandedNodeId(tag.path, idx), ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasProperty),
            RequestedNewNodeId=ua.ExpandedNodeId(f"{tag.path}#EngineeringUnits", idx),
            BrowseName=ua.QualifiedName("EngineeringUnits", 0), NodeClass=ua.NodeClass.Variable,
            NodeAttributes=prop, TypeDefinition=ua.NodeId(ua.ObjectIds.PropertyType)))
    return items


async def _build(server: Server, plant: Plant, idx: int) -> list[tuple[Tag, str]]:
    """Create the plant's nodes; returns (tag, equipment id) for every variable."""
    items: list[ua.AddNodesItem] = []
    tags: list[tuple[Tag, str]] = []
    done: set[str] = set()
    objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)

    def level(parent: ua.NodeId, path: str, item_id: str, name: Text, folder: bool = True) -> ua.NodeId:
        node_id = ua.NodeId(path, idx)
        if path not in done:
            done.add(path)
            items.append(_object_item(parent, node_id, item_id, idx, _text(name, item_id), folder))
        return node_id

    ent = plant.enterprise
    root = level(objects, ent.id, ent.id, ent.name)
    for site in ent.sites:
        s = level(root, f"{ent.id}/{site.id}", site.id, site.name)
        for area in site.areas:
            a = level(s, f"{ent.id}/{site.id}/{area.id}", area.id, area.name)
            for line in area.lines:
                ln = level(a, f"{ent.id}/{site.id}/{area.id}/{line.id}", line.id, line.name)
                for cell in line.cells:
                    c = level(ln, f"{ent.id}/{site.id}/{area.id}/{line.id}/{cell.id}", cell.id, cell.name)
                    for eq in cell.equipment:
                        e = level(c, eq.path, eq.id, eq.name, folder=False)
                        for tag in eq.all_tags:
                            items.extend(_variable_items(e, tag, idx))
                            tags.append((tag, eq.id))
    for result in await server.iserver.isession.add_nodes(items):
        result.StatusCode.check()
    return tags


async def serve_opcua(sim: PlantSimulator | None, plant: Plant, bus: Bus, port: int, *, host: str = "127.0.0.1",
                      security: Security = "none", cert_dir: Path | str | None = None,
                      users: dict[str, str] | None = None) -> OpcUaServerHandle:
    """Serve ``plant`` over OPC UA on ``host:port`` (0: a free port) with values from ``bus``.

    ``sim`` (optional) receives writes to ``feed_override`` and gives the clock of written
    values. ``security="both"`` needs ``cert_dir`` (the server certificate is made there
    once and reused, so clients that trusted it keep trusting it). ``users`` makes
    sessions log in with one of these name/password pairs.
    """
    if security not in ("none", "both"):
        raise ValueError(f"security: must be 'none' or 'both', not {security!r}")
    server = Server(user_manager=_Users(users))
    await server.init()
    server.set_server_name("Zhizao simulated plant")
    await server.set_application_uri(APPLICATION_URI)
    server.set_endpoint(f"opc.tcp://{host}:{port}/zhizao")
    tokens: list[type] = [ua.UserNameIdentityToken] if users else [ua.AnonymousIdentityToken]
    server.set_identity_tokens(tokens)
    certificate: Path | None = None
    if security == "both":
        if cert_dir is None:
            raise ValueError("cert_dir: a folder for the server certificate is needed with security 'both'")
        folder = Path(cert_dir)
        folder.mkdir(parents=True, exist_ok=True)
        certificate = folder / CERT_FILE
        await setup_self_signed_certificate(
            folder / KEY_FILE, certificate, APPLICATION_URI, socket.gethostname(),
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            {"organizationName": "Zhizao", "countryName": "CN"})
        await server.load_certificate(certificate)
        await server.load_private_key(folder / KEY_FILE)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity,
                                    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await server.register_namespace(NAMESPACE_URI)
    variables: dict[str, _Var] = {}
    aspace = server.iserver.aspace
    for tag, equipment_id in await _build(server, plant, idx):
        node_id = ua.NodeId(tag.path, idx)
        attr = aspace[node_id].attributes[ua.AttributeIds.Value]
        attr.value = ua.DataValue(ua.Variant(None, ua.VariantType.Null),
                                  StatusCode=ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData))
        variables[tag.path] = var = _Var(tag, equipment_id, VARIANT_OF_TYPE[tag.data_type], attr)
    handle = OpcUaServerHandle(server, "", idx, variables, sim, certificate)
    for var in variables.values():
        if var.tag.writable:
            server.set_attribute_value_setter(
                ua.NodeId(var.tag.path, idx),
                lambda node, attr, dv, var=var: handle._client_write(var, node, attr, dv))  # type: ignore[misc]
    await server.start()
    handle.url = f"opc.tcp://{host}:{handle.port}/zhizao"
    handle._listen(bus, plant.enterprise.id)
    log.info("OPC UA server for %d tags at %s (security %s)", len(variables), handle.url, security)
    return handle

