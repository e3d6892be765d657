"""Copilot: readers' clearances, the agent's tool-call log and the incident records the knowledge base indexes.

Revision 0006, branch ``copilot`` off 0001.
Created 2026-11-22.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("copilot",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "copilot_clearances",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
        if_not_exists=True,
    )
    op.create_table(
        "copilot_tool_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=32), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("planner", sa.String(length=16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.String(length=1024), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_copilot_tool_calls_ts_ms", "copilot_tool_calls", ["ts_ms"], if_not_exists=True)
    op.create_table(
        "copilot_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("equipment", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "ref", name="uq_copilot_records_kind_ref"),
        if_not_exists=True,
    )
    op.create_index("ix_copilot_records_kind_ts", "copilot_records", ["kind", "ts_ms"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_copilot_records_kind_ts", table_name="copilot_records")
    op.drop_table("copilot_records")
    op.drop_index("ix_copilot_tool_calls_ts_ms", table_name="copilot_tool_calls")
    op.drop_table("copilot_tool_calls")
    op.drop_table("copilot_clearances")
