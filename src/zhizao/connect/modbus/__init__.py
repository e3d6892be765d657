"""Modbus TCP: polls register maps from PLCs and gateways, writes setpoints back.

Settings and the binding of register map entries to plant tags: ``config.py``;
register encoding: ``codec.py``; polling, errors and write-back: ``connector.py``.
"""

from zhizao.connect.modbus.connector import ModbusConnector

CONNECTOR = ModbusConnector

__all__ = ["CONNECTOR", "ModbusConnector"]
