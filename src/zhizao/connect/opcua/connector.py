"""The OPC UA client connector: subscriptions in, writes out.

Each tag bound with ``source: {connector: <name>, address: "<NodeId>"}`` becomes a
monitored item (data change) of one subscription, created in chunks no larger than
the server allows per call. Notifications are collected for ``batch_ms`` and handed
to the platform in one batch:

- timestamp: the source timestamp, else the server timestamp, else the platform clock;
- quality: Good → good, Uncertain… → uncertain, Bad… → bad; every Bad status is
  counted under its name (``BadSensorFailure``...). A Bad notification with a value
  is stored with quality bad; one without a value becomes a dead letter with the
  status name as cause;
- value: converted to the tag's data_type; a value that does not fit is a dead
  letter with cause ``wrong_type``.

A lost connection is retried with exponential back-off (``reconnect_initial_s``
doubling up to ``reconnect_max_s``); the state says why (``disconnected`` for the
network, ``error`` for a refused login or certificate). Re-sent values already
stored (the initial values after a reconnect) are not stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Client, ua
from asyncua.common.subscription import Subscription
from asyncua.crypto import security_policies, uacrypto
from cryptography.x509.oid import ExtendedKeyUsageOID

from zhizao.assets.model import Tag
from zhizao.connect.base import Connector, WriteError
from zhizao.connect.opcua.browse import browse
from zhizao.connect.opcua.codec import (
    ms_of,
    quality_of,
    status_name,
    to_tag_value,
    to_variant,
    variant_type_of,
)
from zhizao.connect.opcua.config import OpcUaConfig
from zhizao.core.i18n import t
from zhizao.store.historian import Point

if TYPE_CHECKING:
    from zhizao.core.context import Context

log = logging.getLogger(__name__)

AUTH_STATUSES = {"BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid"}
SECURITY_STATUSES = {"BadSecurityChecksFailed", "BadSecurityPolicyRejected", "BadCertificateInvalid",
                     "BadCertificateUntrusted", "BadCertificateTimeInvalid", "BadCertificateHostNameInvalid",
                     "BadCertificateUriInvalid", "BadCertificateUseNotAllowed", "BadCertificateRevoked",
                     "BadNonceInvalid"}
MAX_ITEMS_PER_CALL = ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall
MAX_PENDING = 200_000  # notifications held while the platform is not taking them (at least 20 per node)
HOLD_RETRY_S = 1.0  # wait before offering a batch the platform could not take again
SUBSCRIPTION_LOST = {"BadTimeout", "BadShutdown", "BadNoCommunication", "BadServerHalted",
                     "BadSubscriptionIdInvalid", "BadSessionClosed", "BadSessionIdInvalid"}


class _Problem(Exception):
    """A failed connection attempt, with its state, counter cause and catalogued message."""

    def __init__(self, state: str, cause: str, key: str, **params: Any) -> None:
        super().__init__(key)
        self.state, self.cause, self.key, self.params = state, cause, key, params


@dataclass
class _Binding:
    node_id: str
    tags: list[Tag]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _layout(bindings: list[_Binding]) -> list[tuple[str, list[str]]]:
    return [(b.node_id, [tag.path for tag in b.tags]) for b in bindings]


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ua.UaStatusCodeError):
        return status_name(ua.StatusCode(exc.code))
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_certificate(der: bytes) -> bytes:
    """The leading certificate of a DER chain (servers may send theirs with the issuers)."""
    if len(der) > 4 and der[1] == 0x82:
        return der[:int.from_bytes(der[2:4], "big") + 4]
    return der


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()[:16]


class _Collector(Subscription):
    """A subscription that keeps the raw notifications for the connector to take in batches:
    thousands arrive per second, so no object, queue entry or task is made per notification."""

    def __init__(self, session: Any, params: ua.CreateSubscriptionParameters, limit: int) -> None:
        super().__init__(session, params, None, queue_maxsize=1)
        self.limit = limit  # notifications kept at most while the platform does not take them
        self.ready = asyncio.Event()
        self._items: list[ua.MonitoredItemNotification] = []
        self._statuses: list[ua.StatusCode] = []
        self._dropped = 0

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        for notification in publish_result.NotificationMessage.NotificationData or ():
            if isinstance(notification, ua.DataChangeNotification):
                items = notification.MonitoredItems
                if len(self._items) + len(items) > self.limit:
                    self._dropped += len(items)  # counted and reported: never lost silently
                else:
                    self._items.extend(items)
            elif isinstance(notification, ua.StatusChangeNotification):
                self._statuses.append(notification.Status)
        if self._items or self._statuses or self._dropped:
            self.ready.set()

    def take(self) -> tuple[list[ua.MonitoredItemNotification], list[ua.StatusCode], int]:
        """Everything received since the last take: notifications, status changes, number dropped."""
        taken = self._items, self._statuses, self._dropped
        self._items, self._statuses, self._dropped = [], [], 0
        self.ready.clear()
        return taken


class OpcUaConnector(Connector):
    kind = "opcua"
    config_model = OpcUaConfig
    title = {"en": "OPC UA", "zh": "OPC UA"}

    def __init__(self, name: str, config: OpcUaConfig, ctx: Context) -> None:
        super().__init__(name, config, ctx)
        self.config: OpcUaConfig = config
        self._task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        self._plant_changed = asyncio.Event()
        self._off_plant: Callable[[], None] | None = None
        self._variant_types: dict[str, ua.VariantType] = {}
        self._last: dict[str, tuple[int, Any, str]] = {}  # tag path -> (ts, v, q) last stored
        self._established = False  # the current session got as far as subscribing
        self._normal: tuple[str, str] = ("connected", "")  # the state while all goes well

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.set_state("starting", self._t("opcua.state.connecting", endpoint=self.config.endpoint))
        self._off_plant = self.ctx.bus.on("_events/plant/changed", lambda _msg: self._plant_changed.set())
        self._task = asyncio.create_task(self._run(), name=f"opcua-{self.name}")

    async def stop(self) -> None:
        if self._off_plant is not None:
            self._off_plant()
            self._off_plant = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.set_state("stopped")

    # ---- the connection loop -----------------------------------------------------------
    async def _run(self) -> None:
        cfg = self.config
        delay = cfg.reconnect_initial_s
        paths = [tag.path for tag in self.tags]
        try:  # what is stored already is not stored again when the server re-sends it
            self._last.update({p: (pt.ts, pt.v, pt.q) for p, pt in self.ctx.historian.latest(paths).items()}
                              if paths else {})
        except Exception:
            log.warning("opcua %s: latest values unavailable; re-sent values may be stored twice", self.name)
        while True:
            self._established = False
            try:
                await self._session()
                continue  # the bound tags changed: subscribe again at once
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure is retried; the state says why
                problem = self._classify(exc)
                self.count(problem.cause)
                if self._established:  # it was working: the back-off starts again from the beginning
                    delay = cfg.reconnect_initial_s
                self.set_state(problem.state, self._t(problem.key, **problem.params, delay=f"{delay:g}"))
                log.info("opcua %s: %s", self.name, self._detail)
            await asyncio.sleep(delay)
            delay = min(delay * 2, cfg.reconnect_max_s)

    def _classify(self, exc: Exception) -> _Problem:
        endpoint = self.config.endpoint
        if isinstance(exc, _Problem):
            return exc
        if isinstance(exc, ua.UaStatusCodeError):
            name = status_name(ua.StatusCode(exc.code))
            if name in AUTH_STATUSES:
                return _Problem("error", name, "opcua.state.auth", status=name)
            if name in SECURITY_STATUSES:
                return _Problem("error", name, "opcua.state.security", endpoint=endpoint, error=name)
            return _Problem("disconnected", name, "opcua.state.lost", endpoint=endpoint, error=name)
        cause = "timeout" if isinstance(exc, TimeoutError) else "connection_lost"
        return _Problem("disconnected", cause, "opcua.state.lost", endpoint=endpoint, error=error_text(exc))

    async def _session(self) -> None:
        """Connect, subscribe and take notifications until the connection is lost (raises)
        or the bound tags change (returns)."""
        cfg = self.config
        client = await self._make_client()
        lost = asyncio.Event()
        reason: list[Exception] = []

        async def on_lost(exc: Exception) -> None:
            reason.append(exc)
            lost.set()

        client.connection_lost_callback = on_lost
        consumer: asyncio.Task[None] | None = None
        connected = False
        try:
            await asyncio.wait_for(client.connect(), cfg.connect_timeout_s)
            connected = True
            self._client = client
            bindings = await self._bindings()
            params = ua.CreateSubscriptionParameters(
                RequestedPublishingInterval=cfg.publishing_interval_ms, RequestedLifetimeCount=10_000,
                RequestedMaxKeepAliveCount=client.get_keepalive_count(cfg.publishing_interval_ms),
                MaxNotificationsPerPublish=0, PublishingEnabled=True, Priority=0)
            sub = _Collector(client.uaclient.session, params, limit=max(MAX_PENDING, 20 * len(bindings)))
            await sub.init()
            handles = await self._monitor(client, sub, bindings)
            self._established = True
            total = len(self.tags)
            good = sum(len(b.tags) for b in handles.values())
            if good < total:
                self._normal = ("degraded", self._t("opcua.state.partial", nodes=good, total=total,
                                                    endpoint=cfg.endpoint))
            else:
                self._normal = ("connected", self._t("opcua.state.connected", nodes=good, endpoint=cfg.endpoint))
            self.set_state(*self._normal)
            consumer = asyncio.create_task(self._consume(sub, handles), name=f"opcua-{self.name}-consume")
            while True:
                lost_wait = asyncio.ensure_future(lost.wait())
                changed_wait = asyncio.ensure_future(self._plant_changed.wait())
                try:
                    await asyncio.wait({consumer, lost_wait, changed_wait}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    lost_wait.cancel()
                    changed_wait.cancel()
                if consumer.done():
                    consumer.result()  # raises what stopped it
                if lost.is_set():
                    raise reason[0] if reason else ConnectionError("connection lost")
                self._plant_changed.clear()
                if _layout(await self._bindings(quiet=True)) != _layout(bindings):
                    return
        finally:
            if consumer is not None:
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await consumer
            self._client = None
            if connected:
                await self._close(client, lost.is_set())
            else:
                client.disconnect_socket()

    async def _close(self, client: Client, lost: bool) -> None:
        # Closing the session deletes its subscription on the server, also after a watchdog
        # timeout on a socket that still works: a busy server is not left feeding a dead one.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close_session(), self.config.request_timeout_s)
        if not lost:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close_secure_channel(), self.config.request_timeout_s)
        client.disconnect_socket()

    # ---- client set-up ------------------------------------------------------------------
    @property
    def pki_dir(self) -> Path:
        """Where this instance keeps its client certificate and the trusted server certificate."""
        return self.ctx.settings.data_dir / "pki" / "opcua" / self.name

    async def _make_client(self) -> Client:
        cfg = self.config
        client = Client(cfg.endpoint, timeout=cfg.request_timeout_s, watchdog_intervall=cfg.watchdog_s)
        client.session_timeout = int(cfg.session_timeout_s * 1000)
        client.name = client.description = f"Zhizao {self.name}"
        client.application_uri = f"urn:zhizao:connector:{self.name}"
        if cfg.username:
            client.set_user(cfg.username)
            client.set_password(cfg.password or "")
        if cfg.security_policy == "Basic256Sha256":
            cert, key = cfg.client_certificate, cfg.client_private_key
            if cert is None or key is None:
                self.pki_dir.mkdir(parents=True, exist_ok=True)
                key, cert = self.pki_dir / "client_key.pem", self.pki_dir / "client_cert.der"
                await client.setup_self_signed_certificate(
                    key, cert, {"organizationName": "Zhizao"},
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH])
            server_der = await self._trusted_server_certificate(client)
            await client.set_security(security_policies.SecurityPolicyBasic256Sha256, str(cert), str(key),
                                      server_certificate=server_der,
                                      mode=getattr(ua.MessageSecurityMode, cfg.security_mode))
        return client

    async def _trusted_server_certificate(self, client: Client) -> bytes:
        """The server certificate to trust, checked against what the server shows."""
        cfg = self.config
        trusted: bytes | None = None
        stored = self.pki_dir / "trusted_server.der"
        if cfg.server_certificate is not None:
            trusted = uacrypto.der_from_x509(await uacrypto.load_certificate(str(cfg.server_certificate)))
        elif stored.exists():
            trusted = stored.read_bytes()
        elif not cfg.trust_on_first_use:
            raise _Problem("error", "untrusted_server", "opcua.state.no_trust")
        endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), cfg.connect_timeout_s)
        uri = security_policies.SecurityPolicyBasic256Sha256.URI
        mode = getattr(ua.MessageSecurityMode, cfg.security_mode)
        shown = next((e for e in endpoints if e.SecurityPolicyUri == uri and e.SecurityMode == mode), None)
        if shown is None:
            offered = ", ".join(sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]} {e.SecurityMode.name}"
                                        for e in endpoints})) or "-"
            raise _Problem("error", "no_endpoint", "opcua.state.no_endpoint", policy="Basic256Sha256",
                           mode=cfg.security_mode, offered=offered)
        der = _first_certificate(shown.ServerCertificate)
        if trusted is None:
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(der)
            log.warning("opcua %s: trusting server certificate %s on first use", self.name, _fingerprint(der))
            return der
        if der != trusted:
            raise _Problem("error", "untrusted_server", "opcua.state.untrusted", fingerprint=_fingerprint(der),
                           trusted=_fingerprint(trusted), file=stored)
        return der

    # ---- subscription ---------------------------------------------------------------------
    async def _bindings(self, quiet: bool = False) -> list[_Binding]:
        """Bound tags grouped by node; tags whose address is no NodeId are dead letters."""
        by_node: dict[str, _Binding] = {}
        for tag in self.tags:
            try:
                node_id = ua.NodeId.from_string(tag.source.address or "").to_string()
            except Exception as exc:
                if not quiet:
                    await self._dead_letter("bad_address", self._t(
                        "opcua.reject.bad_address", tag=tag.path, address=repr(tag.source.address),
                        error=error_text(exc)), {"address": tag.source.address}, tag.path)
                continue
            by_node.setdefault(node_id, _Binding(node_id, [])).tags.append(tag)
        return list(by_node.values())

    async def _monitor(self, client: Client, sub: Subscription,
                       bindings: list[_Binding]) -> dict[int, _Binding]:
        """Create the monitored items in chunks; returns client handle → binding for those accepted."""
        cfg = self.config
        chunk = cfg.max_items_per_call
        limit_node = client.get_node(ua.NodeId(MAX_ITEMS_PER_CALL))
        with contextlib.suppress(Exception):
            server_limit = int(await limit_node.read_value() or 0)
            if server_limit > 0:
                chunk = min(chunk, server_limit)
        handles: dict[int, _Binding] = {}
        for start in range(0, len(bindings), chunk):
            part = bindings[start:start + chunk]
            requests = []
            for i, binding in enumerate(part, start=start + 1):
                params = ua.MonitoringParameters(ClientHandle=i, SamplingInterval=cfg.sampling_interval_ms,
                                                 QueueSize=cfg.queue_size, DiscardOldest=True)
                requests.append(ua.MonitoredItemCreateRequest(
                    ItemToMonitor=ua.ReadValueId(NodeId=ua.NodeId.from_string(binding.node_id),
                                                 AttributeId=ua.AttributeIds.Value),
                    MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=params))
            results = await sub.create_monitored_items(requests)
            for i, (binding, result) in enumerate(zip(part, results, strict=True), start=start + 1):
                if isinstance(result, ua.StatusCode):
                    name = status_name(result)
                    for tag in binding.tags:
                        await self._dead_letter(name, self._t("opcua.reject.monitor", tag=tag.path,
                                                              node=binding.node_id, status=name),
                                                {"node": binding.node_id}, tag.path)
                else:
                    handles[i] = binding
        return handles

    async def _consume(self, sub: _Collector, handles: dict[int, _Binding]) -> None:
        """Take the notifications ``batch_ms`` after the first of a batch arrived, and store them."""
        while True:
            await sub.ready.wait()
            await asyncio.sleep(self.config.batch_ms / 1000)
            items, statuses, dropped = sub.take()
            for status in statuses:
                name = status_name(status)
                if name in SUBSCRIPTION_LOST:
                    raise ConnectionError(f"subscription ended: {name}")
            points: list[Point] = []
            rejects: list[tuple[str, str, Any, str]] = []
            if dropped:
                rejects.append(("overflow", self._t("opcua.reject.overflow", n=dropped), {"dropped": dropped}, ""))
            for item in items:
                self._take(item, handles, points, rejects)
            await self._store(points, rejects)

    def _take(self, item: ua.MonitoredItemNotification, handles: dict[int, _Binding], points: list[Point],
              rejects: list[tuple[str, str, Any, str]]) -> None:
        binding = handles.get(item.ClientHandle)
        if binding is None:
            return
        dv = item.Value
        status = dv.StatusCode if dv is not None else None
        q = quality_of(status)
        ts = (ms_of(dv.SourceTimestamp) or ms_of(dv.ServerTimestamp)) if dv is not None else None
        if ts is None:
            ts = self.ctx.clock.now_ms()
        raw = dv.Value.Value if dv is not None and dv.Value is not None else None
        name = status_name(status) if q != "good" and status is not None else "Good"
        for tag in binding.tags:
            if raw is None:  # counted under its cause as a dead letter
                key = "opcua.reject.bad_status" if q == "bad" else "opcua.reject.no_value"
                rejects.append((name if q == "bad" else "no_value",
                                self._t(key, tag=tag.path, node=binding.node_id, status=name),
                                {"node": binding.node_id, "status": name, "ts": ts}, tag.path))
                continue
            value, why = to_tag_value(raw, tag.data_type)
            if why:
                rejects.append(("wrong_type", self._t("opcua.reject.wrong_type", tag=tag.path,
                                                      node=binding.node_id, why=why),
                                {"node": binding.node_id, "v": repr(raw)[:200], "ts": ts}, tag.path))
                continue
            if self._last.get(tag.path) == (ts, value, q):
                continue  # re-sent after a reconnect: stored already
            if q == "bad":
                self.count(name)
            points.append(Point(tag.path, ts, value, q))  # type: ignore[arg-type]

    async def _store(self, points: list[Point], rejects: list[tuple[str, str, Any, str]]) -> None:
        if points:
            held = False
            while True:
                try:
                    result = await self.submit(points)
                    break
                except Exception as exc:  # the platform cannot take points now (spool full...): hold, retry
                    held = True
                    self.count(_snake(type(exc).__name__))
                    self.set_state("degraded", self._t("opcua.state.held", points=len(points),
                                                       error=error_text(exc)))
                    await asyncio.sleep(HOLD_RETRY_S)
            if held:
                self.set_state(*self._normal)
            rejected = {r.index for r in result.rejected}
            for r in result.rejected:
                self.count(r.reason)
            for i, p in enumerate(points):
                if i not in rejected:
                    self._last[p.tag] = (p.ts, p.v, p.q)
        for cause, detail, payload, tag in rejects:
            await self._dead_letter(cause, detail, payload, tag)

    async def _dead_letter(self, cause: str, detail: str, payload: Any, tag: str | None) -> None:
        self.count(cause, payload["dropped"] if cause == "overflow" else 1)
        await self.ctx.services["ingest"].dead_letter(self.name, cause, detail, payload, tag=tag or None)

    # ---- write-back --------------------------------------------------------------------
    def _address(self, tag: Tag) -> tuple[ua.NodeId, str]:
        if tag.source.connector != self.name:
            raise WriteError(self._t("opcua.write.not_bound", tag=tag.path, name=self.name))
        try:
            node_id = ua.NodeId.from_string(tag.source.address or "")
        except Exception as exc:
            raise WriteError(self._t("opcua.reject.bad_address", tag=tag.path, address=repr(tag.source.address),
                                     error=error_text(exc))) from None
        return node_id, node_id.to_string()

    def _connected(self) -> Client:
        if self._client is None:
            raise WriteError(self._t("opcua.write.not_connected", name=self.name, endpoint=self.config.endpoint))
        return self._client

    async def write(self, tag: Tag, value: Any) -> None:
        node_id, text = self._address(tag)
        if not tag.writable:
            raise WriteError(self._t("opcua.write.not_writable", tag=tag.path))
        node = self._connected().get_node(node_id)
        try:
            vtype = self._variant_types.get(text)
            if vtype is None:
                datatype = await node.read_data_type()
                vtype = variant_type_of(datatype)
                if vtype is None:
                    raise WriteError(self._t("opcua.write.unsupported_type", node=text, datatype=datatype.to_string()))
                self._variant_types[text] = vtype
            try:
                variant = to_variant(value, vtype)
            except ValueError as exc:
                raise WriteError(self._t("opcua.write.bad_value", node=text, why=str(exc))) from None
            # Value only: many PLC servers refuse writes that carry a status or timestamps.
            await node.write_attribute(ua.AttributeIds.Value, ua.DataValue(variant, StatusCode=None))
        except ua.UaStatusCodeError as exc:
            status = ua.StatusCode(exc.code)
            raise WriteError(self._t("opcua.write.refused", node=text, status=status_name(status),
                                     doc=status.doc)) from None
        except (OSError, TimeoutError, ConnectionError, ua.UaError) as exc:
            raise WriteError(self._t("opcua.write.failed", node=text, error=error_text(exc))) from None

    async def read(self, tag: Tag) -> Any:
        node_id, text = self._address(tag)
        node = self._connected().get_node(node_id)
        try:
            dv = await node.read_data_value(raise_on_bad_status=False)
        except (OSError, TimeoutError, ConnectionError, ua.UaError) as exc:
            raise WriteError(self._t("opcua.read.failed", node=text, error=error_text(exc))) from None
        raw = dv.Value.Value if dv.Value is not None else None
        if raw is None:
            raise WriteError(self._t("opcua.read.bad_status", node=text, status=status_name(dv.StatusCode)))
        value, why = to_tag_value(raw, tag.data_type)
        if why:
            raise WriteError(self._t("opcua.reject.wrong_type", tag=tag.path, node=text, why=why))
        return value

    # ---- browse ------------------------------------------------------------------------
    async def browse(self, node: str = "i=85", depth: int = 4, max_nodes: int = 5000,
                     include_standard: bool = False) -> dict[str, Any]:
        """Browse the server from ``node`` in a session of its own (see ``browse.browse``)."""
        client = await self._make_client()
        await asyncio.wait_for(client.connect(), self.config.connect_timeout_s)
        try:
            return await browse(client, self.name, node, depth=depth, max_nodes=max_nodes,
                                include_standard=include_standard)
        finally:
            await self._close(client, lost=False)

    def _t(self, key: str, **params: Any) -> str:
        return t(key, self.ctx.settings.lang, **params)
