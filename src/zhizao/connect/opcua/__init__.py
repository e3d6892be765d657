"""OPC UA connector (``kind: opcua``): subscriptions, write-back, browse and import.

    connectors:
      - name: plc1
        kind: opcua
        config: {endpoint: "opc.tcp://10.0.0.5:4840", sampling_interval_ms: 1000}

Tags bind with ``source: {connector: plc1, address: "ns=2;s=Line1.Temperature"}``.
The API router in ``zhizao.connect.opcua.api`` adds browse and import endpoints.
"""

from zhizao.connect.opcua.connector import OpcUaConnector

CONNECTOR = OpcUaConnector

__all__ = ["CONNECTOR", "OpcUaConnector"]
