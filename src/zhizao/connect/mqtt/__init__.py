"""MQTT connector: UNS JSON and Sparkplug B, shared subscriptions, acknowledged once stored."""

from zhizao.connect.mqtt.connector import MqttConnector

CONNECTOR = MqttConnector

__all__ = ["CONNECTOR", "MqttConnector"]
