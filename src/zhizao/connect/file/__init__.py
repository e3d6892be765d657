"""File import: CSV and Parquet files, uploaded in the console (``/api/import``) or dropped in a
watched folder (a ``kind: file`` connector)."""

from zhizao.connect.file.connector import FileConnector

CONNECTOR = FileConnector
