"""Connectors: how data gets in from devices and systems, and setpoints get back out.

Every connector is a sub-package of ``zhizao.connect`` (or a third-party package
registered under the entry-point group ``zhizao.connectors``) with the same shape:

    zhizao/connect/<kind>/
        __init__.py     CONNECTOR = <the Connector subclass>
        config.py       <Kind>Config(ConnectorConfig): the declared, validated settings
        connector.py    the Connector subclass: start / stop / health (/ write / read)

Instances are declared in the plant YAML under ``connectors:`` and tags point at
them with ``source: {connector: <instance name>, address: ...}``.
"""
