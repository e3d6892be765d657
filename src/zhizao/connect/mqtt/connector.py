"""The MQTT connector: UNS JSON and Sparkplug B from a broker into the platform.

Delivery guarantee. A QoS 1 message is acknowledged (PUBACK) only after the points made from it were
accepted by ``submit`` (durable) or, for bad input, after it was counted and dead-lettered. aiomqtt 2.5.1
has no manual-acknowledgement option, so the underlying paho client's ``manual_ack_set(True)`` / ``ack(mid,
qos)`` are used (``aiomqtt.Client._client``, the one private attribute touched). With the persistent session
(``clean_session: false``) a message received but not yet acknowledged when the connection or the platform
goes away is delivered again: at least once, never lost, possibly stored twice around a reconnect. QoS 2 is
not offered because paho confirms it (PUBREC) on receipt, before it is stored.

Throughput. Messages go from a reader task into an inbox; a batcher takes everything available (up to
``batch_max_points``, waiting at most ``batch_max_wait_ms`` and stopping early when the stream pauses),
stores it with one ``submit`` and then acknowledges the batch in arrival order (as MQTT requires).
The broker's in-flight window (Mosquitto: ``max_inflight_messages``) bounds how many unacknowledged
messages one batch can hold, so publishers should send arrays of points rather than one point per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from zhizao.bus import topic_matches
from zhizao.connect.base import Connector
from zhizao.connect.mqtt.config import MqttConfig, TopicSubscription, parse_url
from zhizao.connect.mqtt.sparkplug import SparkplugDecoder, command_topic, parse_topic, rebirth_request
from zhizao.connect.mqtt.uns import ItemError, parse_uns
from zhizao.core.i18n import t
from zhizao.store.historian import Point

log = logging.getLogger(__name__)

IDLE_GAP_S = 0.002  # a pause this long in the stream ends a batch early
STOP_DRAIN_S = 10.0  # on stop, the time given to store and acknowledge what was already received
SUBMIT_RETRY_MAX_S = 10.0
REBIRTH_EVERY_S = 10.0  # per edge node: a node that is slow to answer is not flooded with requests
LANG = "en"  # stored details and health texts, like the historian's rejection details
_TOPIC_CACHE_MAX = 100_000


@dataclass
class _Batch:
    """Messages taken for one store call, and what they became."""

    pending: list[tuple[aiomqtt.Client, aiomqtt.Message]] = field(default_factory=list)  # to acknowledge
    points: list[Point] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    rebirths: set[tuple[str, str]] = field(default_factory=set)  # (group_id, edge_node_id)


def _printable(payload: bytes, limit: int = 1000) -> str:
    """A payload excerpt safe for any JSON/text column (no NUL characters)."""
    return payload[:limit].decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


class MqttConnector(Connector):
    kind = "mqtt"
    config_model = MqttConfig
    title = {"en": "MQTT (UNS JSON, Sparkplug B)", "zh": "MQTT（UNS JSON、Sparkplug B）"}

    def __init__(self, name: str, config: MqttConfig, ctx: Any) -> None:
        super().__init__(name, config, ctx)
        self.config: MqttConfig = config
        self._tasks: list[asyncio.Task] = []
        self._inbox: asyncio.Queue[tuple[aiomqtt.Client, aiomqtt.Message]] = asyncio.Queue()
        self._client: aiomqtt.Client | None = None  # the connected client; acks go only through it
        self._closing = False
        self._stopping = asyncio.Event()  # set with _closing: cuts back-off waits short
        self._url = ""
        self._topic_route: dict[str, int] = {}
        self._rebirths: dict[tuple[str, str], float] = {}  # (group, node) -> when a rebirth was last requested
        self._tag_paths: frozenset[str] = frozenset()
        self._tags_of: Any = None  # the plant object _tag_paths was built from
        mappings = {(m.group_id, m.edge_node_id, m.device_id, m.metric): m.tag for m in config.sparkplug_mappings}
        self._decoders = {i: SparkplugDecoder(sub.root, mappings, self._is_tag, config.max_payload_bytes)
                          for i, sub in enumerate(config.topics) if sub.format == "sparkplug"}

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        url = self.config.url or self.ctx.settings.mqtt_url
        if not url:
            self.set_state("error", t("mqtt.state.no_url", LANG))
            return
        try:
            host, port, tls = parse_url(url)
        except ValueError as exc:
            self.set_state("error", str(exc))
            return
        self._closing = False
        self._stopping.clear()
        self._url = url
        self.set_state("starting", t("mqtt.state.connecting", LANG, url=url))
        self._tasks = [asyncio.create_task(self._connection_loop(url, host, port, tls), name=f"mqtt-{self.name}"),
                       asyncio.create_task(self._batch_loop(), name=f"mqtt-{self.name}-batch")]

    async def stop(self) -> None:
        if not self._tasks:
            return
        connection, batcher = self._tasks
        self._closing = True  # the batcher stores and acknowledges what it has, then ends
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(batcher), STOP_DRAIN_S)
        except Exception:  # timed out (or failed): what is left comes again with the persistent session
            batcher.cancel()
        connection.cancel()
        await asyncio.gather(connection, batcher, return_exceptions=True)
        self._tasks = []
        self._client = None
        self._inbox = asyncio.Queue()  # unacknowledged leftovers come again with the persistent session
        self.set_state("stopped")

    # ---- connection --------------------------------------------------------------------
    def _new_client(self, host: str, port: int, tls: bool) -> aiomqtt.Client:
        cfg = self.config
        tls_params = None
        if tls or cfg.tls is not None:
            opts = cfg.tls
            tls_params = aiomqtt.TLSParameters(ca_certs=opts.ca_file if opts else None,
                                               certfile=opts.cert_file if opts else None,
                                               keyfile=opts.key_file if opts else None)
        client = aiomqtt.Client(
            host, port,
            identifier=cfg.client_id or f"zhizao-{self.name}-{socket.gethostname()}",
            username=cfg.username, password=cfg.password.get_secret_value() if cfg.password else None,
            clean_session=cfg.clean_session, keepalive=cfg.keepalive_s,
            tls_params=tls_params, tls_insecure=cfg.tls.insecure if cfg.tls and cfg.tls.insecure else None)
        # Before connecting: a persistent session's queued messages arrive right after CONNACK.
        client._client.manual_ack_set(True)
        return client

    def _filters(self) -> list[str]:
        group = self.config.shared_group
        return [f"$share/{group}/{s.filter}" if group else s.filter for s in self.config.topics]

    async def _connection_loop(self, url: str, host: str, port: int, tls: bool) -> None:
        delay = self.config.reconnect_min_s
        while True:
            try:
                client = self._new_client(host, port, tls)
                async with client:
                    for topic_filter in self._filters():
                        granted = await client.subscribe(topic_filter, self.config.qos)
                        if any(getattr(code, "is_failure", False) for code in granted):
                            raise aiomqtt.MqttError(t("mqtt.state.subscribe_refused", LANG, filter=topic_filter))
                    self._client = client
                    delay = self.config.reconnect_min_s
                    self.set_state("connected", t("mqtt.state.connected", LANG, url=url,
                                                  n=len(self.config.topics)))
                    async for message in client.messages:
                        if not self._closing:  # once closing, leave it unacknowledged for next time
                            self._inbox.put_nowait((client, message))
            except Exception as exc:  # MqttError, or e.g. an unreadable TLS file: retried with back-off
                self.count("disconnects")
                state = "disconnected" if isinstance(exc, aiomqtt.MqttError) else "error"
                self.set_state(state, t("mqtt.state.disconnected", LANG, url=url, error=str(exc) or repr(exc),
                                        delay=round(delay, 1)))
                log.warning("mqtt connector %s: %s; retrying in %.1f s", self.name, exc, delay)
            self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)

    # ---- batching ----------------------------------------------------------------------
    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        max_points = self.config.batch_max_points
        while True:
            if self._closing and self._inbox.empty():
                return
            batch = _Batch()
            if self._closing:
                item = self._inbox.get_nowait()
            else:
                try:
                    item = await asyncio.wait_for(self._inbox.get(), 0.2)  # wake up now and then to see _closing
                except TimeoutError:
                    continue
            try:
                self._take(item, batch)
                deadline = loop.time() + self.config.batch_max_wait_ms / 1000
                while len(batch.points) < max_points:
                    if self._inbox.empty():
                        remaining = deadline - loop.time()
                        if remaining <= 0 or self._closing:
                            break
                        await asyncio.sleep(min(IDLE_GAP_S, remaining))
                        if self._inbox.empty():
                            break
                    while not self._inbox.empty() and len(batch.points) < max_points:
                        self._take(self._inbox.get_nowait(), batch)
                await self._flush(batch)
            except Exception as exc:  # a bug here must not end ingestion; the batch stays unacknowledged
                log.exception("mqtt connector %s: a batch of %d messages failed", self.name, len(batch.pending))
                self.count("internal_error")
                self.set_state("degraded", t("mqtt.err.internal_error", LANG, topic=self.name, error=repr(exc)[:200]))

    def _take(self, item: tuple[aiomqtt.Client, aiomqtt.Message], batch: _Batch) -> None:
        _, message = item
        batch.pending.append(item)
        self.count("messages")
        topic = message.topic.value
        payload: bytes = message.payload  # type: ignore[assignment]  # always bytes when received
        index = self._route(topic)
        try:
            if index is None:
                batch.errors.append(ItemError("unknown_topic", {"topic": topic, "root": "-"}, payload))
                return
            sub: TopicSubscription = self.config.topics[index]
            if sub.format == "sparkplug":
                decoded = self._decoders[index].decode(topic, payload, int(time.time() * 1000))
                if decoded.gaps:
                    self.count("sequence_gap", decoded.gaps)
                if decoded.stale_death:
                    self.count("stale_death")
                if decoded.rebirth and self.config.sparkplug_rebirth:
                    st = parse_topic(topic)
                    if st is not None:
                        batch.rebirths.add((st.group_id, st.edge_node_id))
            else:
                decoded = parse_uns(topic, payload, root=sub.root, max_bytes=self.config.max_payload_bytes,
                                    is_tag=self._is_tag)
        except Exception as exc:  # a decoder bug must not stop ingestion: the message is dead-lettered
            log.exception("mqtt connector %s: cannot decode a message on %s", self.name, topic)
            batch.errors.append(ItemError("internal_error", {"topic": topic, "error": repr(exc)[:200]}, payload))
            return
        batch.points.extend(decoded.points)
        batch.errors.extend(decoded.errors)

    def _route(self, topic: str) -> int | None:
        """Index of the first subscription whose filter matches ``topic``."""
        if topic in self._topic_route:
            return self._topic_route[topic]
        index = next((i for i, s in enumerate(self.config.topics) if topic_matches(s.filter, topic)), None)
        if index is not None:
            if len(self._topic_route) >= _TOPIC_CACHE_MAX:
                self._topic_route.clear()
            self._topic_route[topic] = index
        return index

    def _is_tag(self, name: str) -> bool:
        """Whether ingest will take ``name``: a tag path, this connector's address of a tag, or any name
        when tags are auto-created (ingest then decides)."""
        if self.ctx.settings.auto_create_tags:
            return True
        plant = self.ctx.plant
        if plant is not self._tags_of:  # the plant can be replaced while running
            tags = plant.tags()
            self._tag_paths = frozenset([tag.path for tag in tags] + [
                tag.source.address for tag in tags if tag.source.connector == self.name and tag.source.address])
            self._tags_of = plant
        return name in self._tag_paths

    # ---- storing and acknowledging -------------------------------------------------------
    async def _flush(self, batch: _Batch) -> None:
        for error in batch.errors:
            await self._dead_letter(error)
        points = batch.points
        if points:
            delay = 0.1
            while True:
                try:
                    result = await self.submit(points)
                    break
                except Exception as exc:
                    log.exception("mqtt connector %s: storing %d points failed", self.name, len(points))
                    self.count("submit_errors")
                    self.set_state("degraded", t("mqtt.state.submit_failed", LANG, error=repr(exc)[:200]))
                    if self._closing:
                        return  # not acknowledged: the broker delivers these messages again
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
                    delay = min(delay * 2, SUBMIT_RETRY_MAX_S)
            for rejection in result.rejected:  # dead-lettered by ingest; counted here per cause too
                self.count(rejection.reason)
            if self._state == "degraded" and self._client is not None:
                self.set_state("connected", t("mqtt.state.connected", LANG, url=self._url,
                                              n=len(self.config.topics)))
        current = self._client
        for client, message in batch.pending:
            if message.qos >= 1 and client is current:
                try:
                    client._client.ack(message.mid, message.qos)
                except Exception:  # the connection just went: the message comes again
                    log.debug("mqtt connector %s: ack of %d failed", self.name, message.mid, exc_info=True)
        if batch.rebirths and current is not None:
            await self._request_rebirths(current, batch.rebirths)

    async def _request_rebirths(self, client: aiomqtt.Client, nodes: set[tuple[str, str]]) -> None:
        """Ask edge nodes whose births are missing to publish them again (at most every REBIRTH_EVERY_S)."""
        now = time.monotonic()
        for node in sorted(nodes):
            if now - self._rebirths.get(node, -REBIRTH_EVERY_S) < REBIRTH_EVERY_S:
                continue
            self._rebirths[node] = now
            try:
                await client.publish(command_topic(*node), rebirth_request(int(time.time() * 1000)), qos=0)
                self.count("rebirth_requests")
            except aiomqtt.MqttError:
                log.warning("mqtt connector %s: rebirth request to %s/%s failed", self.name, *node)

    async def _dead_letter(self, error: ItemError) -> None:
        """Count and dead-letter one rejection (ingest keeps the counts exact and limits the stored rows)."""
        item = error.item
        # As text: raw bytes may be binary, and JSON items may hold NaN, which JSON columns refuse.
        payload = _printable(item if isinstance(item, bytes) else json.dumps(item, ensure_ascii=False).encode())
        try:
            await self.reject(error.cause, error.detail(LANG), payload)
        except Exception:  # counted already; a failing dead-letter store must not stop ingestion
            log.exception("mqtt connector %s: storing a dead letter failed", self.name)
