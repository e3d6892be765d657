"""The MQTT connector's declared settings, as the plant loader and the registry see them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.connect.mqtt.mqtt_helpers import PLANT_YAML

from zhizao.assets.loader import PlantError, parse_plant
from zhizao.connect.mqtt import MqttConnector
from zhizao.connect.mqtt.config import MqttConfig, parse_url
from zhizao.connect.registry import connector_kinds


def test_registered_kind_and_defaults():
    assert connector_kinds()["mqtt"] is MqttConnector
    cfg = MqttConfig.model_validate({"topics": [{"filter": "factory/#"}]})
    assert (cfg.qos, cfg.clean_session, cfg.shared_group, cfg.url) == (1, False, None, None)
    assert cfg.topics[0].format == "uns" and cfg.topics[0].root == ""
    schema = MqttConfig.model_json_schema()
    assert {"url", "topics", "qos", "shared_group", "max_payload_bytes", "batch_max_points"} <= set(
        schema["properties"])


def test_parse_url():
    assert parse_url("mqtt://broker.local") == ("broker.local", 1883, False)
    assert parse_url("mqtts://broker.local") == ("broker.local", 8883, True)
    assert parse_url("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, False)
    for bad in ("http://x", "mqtt://", "mqtt://x:99999"):
        with pytest.raises(ValueError, match="url"):
            parse_url(bad)


@pytest.mark.parametrize(("config", "field"), [
    ({"topics": []}, "topics"),
    ({"topics": [{"filter": "$share/g/a/#"}]}, "filter"),
    ({"topics": [{"filter": "a/#/b"}]}, "filter"),
    ({"topics": [{"filter": "a/#", "format": "xml"}]}, "format"),
    ({"topics": [{"filter": "a/#"}], "qos": 2}, "qos"),
    ({"topics": [{"filter": "a/#"}], "shared_group": "a/b"}, "shared_group"),
    ({"topics": [{"filter": "a/#"}], "url": "ws://x"}, "url"),
    ({"topics": [{"filter": "a/#"}], "max_payload_bytes": 0}, "max_payload_bytes"),
    ({"topics": [{"filter": "a/#"}], "sparkplug_mappings": [
        {"group_id": "g", "edge_node_id": "n", "metric": "m", "tag": "Not A Tag"}]}, "tag"),
    ({"topics": [{"filter": "a/#"}], "colour": "blue"}, "colour"),
])
def test_bad_settings_name_the_field(config, field):
    with pytest.raises(ValidationError) as exc:
        MqttConfig.model_validate(config)
    assert field in str(exc.value)


def test_plant_yaml_declares_an_mqtt_connector_with_line_numbers():
    connectors = """connectors:
  - name: broker
    kind: mqtt
    config:
      url: mqtt://127.0.0.1:1883
      shared_group: zhizao
      topics:
        - {filter: "factory/#", root: factory}
        - {filter: "spBv1.0/g1/#", format: sparkplug, root: "acme/s1/a1/l1/c1"}
"""
    plant = parse_plant(connectors + PLANT_YAML)
    assert plant.connectors[0].kind == "mqtt"
    bad = connectors.replace("root: factory}", "root: factory, qos: 1}")
    with pytest.raises(PlantError) as exc:
        parse_plant(bad + PLANT_YAML)
    text = str(exc.value)
    assert "line 8" in text and "qos" in text
