"""Inspection results: one row per inspected image (verdict, model version, trace, review).

Revision 0003, branch "inspection" off 0001.
Created 2026-11-22.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("inspection",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("station", sa.String(length=512), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("image_path", sa.String(length=512), nullable=True),
        sa.Column("heatmap_path", sa.String(length=512), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("anomaly_score", sa.Float(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=128), nullable=True),
        sa.Column("batch", sa.String(length=128), nullable=True),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("line", sa.String(length=512), nullable=True),
        sa.Column("reviewed_label", sa.String(length=64), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("image_id"),
        if_not_exists=True,
    )
    op.create_index("ix_inspection_results_ts", "inspection_results", ["ts_ms"], if_not_exists=True)
    op.create_index("ix_inspection_results_verdict", "inspection_results", ["verdict", "reviewed_ms"],
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_table("inspection_results")
