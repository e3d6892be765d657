"""Maintenance: work orders and health warnings.

Revision 0002, branch ``maintenance`` off 0001.
Created 2026-11-22.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("maintenance",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("spare_parts", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("duration_min", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed_ms", sa.BigInteger(), nullable=True),
        sa.Column("restore", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_maintenance_work_orders_equipment_state", "maintenance_work_orders",
                    ["equipment", "state"], if_not_exists=True)
    op.create_table(
        "maintenance_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(length=512), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("health", sa.Float(), nullable=False),
        sa.Column("lead_time_h", sa.Float(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_maintenance_warnings_equipment_ts", "maintenance_warnings", ["equipment", "ts"],
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_maintenance_warnings_equipment_ts", table_name="maintenance_warnings")
    op.drop_table("maintenance_warnings")
    op.drop_index("ix_maintenance_work_orders_equipment_state", table_name="maintenance_work_orders")
    op.drop_table("maintenance_work_orders")
