"""Declared settings of an OPC UA connector instance (``kind: opcua`` in the plant YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from zhizao.connect.base import ConnectorConfig


class OpcUaConfig(ConnectorConfig):
    endpoint: str = Field(pattern=r"^opc\.tcp://", description="server endpoint, e.g. opc.tcp://10.0.0.5:4840")
    security_policy: Literal["None", "Basic256Sha256"] = "None"
    security_mode: Literal["Sign", "SignAndEncrypt"] = Field(
        "SignAndEncrypt", description="message security with Basic256Sha256 (ignored with policy None)")
    username: str | None = Field(None, description="user name; anonymous when empty")
    password: str | None = Field(None, description="password; write ${ENV_VAR} to keep it out of the file")
    client_certificate: Path | None = Field(
        None, description="client certificate (DER or PEM); generated into the data folder when empty")
    client_private_key: Path | None = Field(None, description="private key of the client certificate (PEM)")
    server_certificate: Path | None = Field(
        None, description="the server certificate to trust (DER or PEM)")
    trust_on_first_use: bool = Field(
        False, description="without server_certificate: trust the certificate the server shows first, "
                           "keep it in the data folder and refuse a different one later")
    sampling_interval_ms: float = Field(1000.0, ge=0, description="how often the server samples each node")
    publishing_interval_ms: float = Field(1000.0, gt=0, description="how often the server sends notifications")
    queue_size: int = Field(10, ge=1, le=10_000, description="values kept per node between publishes")
    max_items_per_call: int = Field(
        1000, ge=1, le=100_000, description="monitored items created per request (the server's own limit "
                                            "applies when it is lower)")
    batch_ms: float = Field(100.0, ge=10, le=5000, description="notifications are collected this long, "
                                                                  "then stored in one batch")
    reconnect_initial_s: float = Field(1.0, gt=0, le=3600, description="first wait after a connection loss")
    reconnect_max_s: float = Field(60.0, gt=0, le=3600, description="longest wait between attempts "
                                                                     "(the wait doubles up to this)")
    connect_timeout_s: float = Field(10.0, gt=0, le=600)
    request_timeout_s: float = Field(10.0, gt=0, le=600, description="answer time allowed for each request")
    session_timeout_s: float = Field(60.0, ge=1, le=86_400)
    watchdog_s: float = Field(5.0, gt=0, le=600, description="how often the connection is checked (the server "
                                                             "must answer the check within this time)")

    @model_validator(mode="after")
    def _consistent(self) -> OpcUaConfig:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        if (self.client_certificate is None) != (self.client_private_key is None):
            raise ValueError("client_certificate and client_private_key go together: give both or neither")
        if self.password and not self.username:
            raise ValueError("password without username: give the username too")
        return self
