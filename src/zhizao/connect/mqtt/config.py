"""Declared settings of the MQTT connector (UNS JSON and Sparkplug B).

Example (plant YAML)::

    connectors:
      - name: broker
        kind: mqtt
        config:
          url: mqtt://127.0.0.1:1883          # default: ZHIZAO_MQTT_URL
          username: zhizao
          password: ${MQTT_PASSWORD}
          shared_group: zhizao                # several platform nodes split the stream
          topics:
            - {filter: "factory/acme/#", format: uns, root: factory}
            - {filter: "spBv1.0/line1/#", format: sparkplug, root: "acme/suzhou/machining/line1/{edge_node_id}"}
          sparkplug_mappings:
            - {group_id: line1, edge_node_id: cnc1, metric: "Spindle/Speed",
               tag: acme/suzhou/machining/line1/turning/cnc1/spindle_speed}

QoS 1 messages are acknowledged to the broker only once their points are durable (see connector.py).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from zhizao.bus.bus import validate_filter
from zhizao.connect.base import ConnectorConfig

TAG_PATTERN = r"^[a-z0-9_-]+(/[a-z0-9_-]+)+$"
SCHEMES = {"mqtt": (1883, False), "tcp": (1883, False), "mqtts": (8883, True), "ssl": (8883, True)}


def parse_url(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of ``mqtt://host[:port]`` or ``mqtts://host[:port]``; ValueError naming the problem."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"url: scheme of {url!r} must be one of {', '.join(s + '://' for s in SCHEMES)}")
    if not parts.hostname:
        raise ValueError(f"url: {url!r} names no host")
    default_port, tls = SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"url: {url!r} has an invalid port") from None
    return parts.hostname, port, tls


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopicSubscription(_Strict):
    """One topic filter and how its messages are read."""

    filter: str = Field(description="MQTT topic filter, e.g. 'factory/#' (without '$share/': see shared_group)")
    format: Literal["uns", "sparkplug"] = "uns"
    root: str = Field("", description="uns: topic levels before the tag path; sparkplug: tag path prefix of "
                                      "metrics ({group_id}, {edge_node_id}, {device_id} allowed)")

    @field_validator("filter")
    @classmethod
    def _filter(cls, v: str) -> str:
        if not v or v.startswith("$share/"):
            raise ValueError("filter: must be a non-empty topic filter without '$share/' (use shared_group)")
        validate_filter(v)
        return v


class TlsSettings(_Strict):
    ca_file: str | None = Field(None, description="CA certificates (PEM); default: the system's")
    cert_file: str | None = Field(None, description="client certificate (PEM), for mutual TLS")
    key_file: str | None = Field(None, description="client key (PEM)")
    insecure: bool = Field(False, description="skip the server host name check (testing only)")


class SparkplugMapping(_Strict):
    """An explicit Sparkplug metric -> tag binding (otherwise: root prefix + metric name)."""

    group_id: str
    edge_node_id: str
    device_id: str | None = None
    metric: str
    tag: str = Field(pattern=TAG_PATTERN, description="UNS path of the plant tag")


class MqttConfig(ConnectorConfig):
    url: str | None = Field(None, description="broker, mqtt://host:port or mqtts://host:port; "
                                              "default: the platform's ZHIZAO_MQTT_URL")
    client_id: str | None = Field(None, description="default: zhizao-<connector name>-<host name>; "
                                                    "keep it stable, the persistent session is tied to it")
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsSettings | None = Field(None, description="TLS options (mqtts:// turns TLS on with defaults)")
    topics: list[TopicSubscription] = Field(min_length=1)
    qos: Literal[0, 1] = Field(1, description="1: at least once, acknowledged once stored; 0: at most once. "
                                              "QoS 2 is not offered: the client library confirms it on receipt")
    clean_session: bool = Field(False, description="false: the broker keeps the session and queues messages "
                                                   "while the connector is away")
    shared_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="subscribe as $share/<group>/<filter> so several platform "
                                                 "nodes split the stream (UNS; Sparkplug needs each node's "
                                                 "births, so keep it unshared)")
    max_payload_bytes: int = Field(1_048_576, gt=0, description="larger messages are rejected (oversized)")
    batch_max_points: int = Field(50_000, gt=0, description="points per store call")
    batch_max_wait_ms: int = Field(100, ge=0, description="longest wait for more messages before storing; the "
                                                          "broker's in-flight window (Mosquitto: "
                                                          "max_inflight_messages) also bounds a batch")
    keepalive_s: int = Field(30, ge=5)
    reconnect_min_s: float = Field(0.5, gt=0, description="first reconnect delay, doubled up to reconnect_max_s")
    reconnect_max_s: float = Field(30.0, gt=0)
    sparkplug_mappings: list[SparkplugMapping] = Field(default_factory=list)
    sparkplug_rebirth: bool = Field(True, description="ask an edge node for its births again (NCMD Node Control/"
                                                      "Rebirth) when its data cannot be read without them: data "
                                                      "before any birth, an unknown alias, a sequence gap")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            parse_url(v)
        return v
