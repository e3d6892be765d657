"""Alembic environment: runs on the connection that ``zhizao.store.migrations`` hands over."""

from alembic import context

from zhizao.store.db import Base, import_models

import_models()
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("zhizao migrations run on a live connection: use zhizao.store.migrations.upgrade")
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
