"""Initial schema: the tables of users, tokens, audit, alarms, OEE and dead letters.

Revision 0001, the first.
Created 2026-11-22.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # if_not_exists: databases made by create_all before migrations existed are adopted.
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=512), nullable=False),
        sa.Column("limit_kind", sa.String(length=8), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("active_since", sa.BigInteger(), nullable=True),
        sa.Column("cleared_at", sa.BigInteger(), nullable=True),
        sa.Column("acked_by", sa.String(length=64), nullable=True),
        sa.Column("acked_at", sa.BigInteger(), nullable=True),
        sa.Column("shelved_by", sa.String(length=64), nullable=True),
        sa.Column("shelved_at", sa.BigInteger(), nullable=True),
        sa.Column("shelved_until", sa.BigInteger(), nullable=True),
        sa.Column("shelve_reason", sa.String(length=512), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag", "limit_kind", name="uq_alarms_tag_limit"),
        if_not_exists=True,
    )
    op.create_index("ix_alarms_tag", "alarms", ["tag"], if_not_exists=True)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_audit_log_ts_ms", "audit_log", ["ts_ms"], if_not_exists=True)
    op.create_table(
        "dead_letter_counts",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "cause"),
        if_not_exists=True,
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=512), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_dead_letters_cause", "dead_letters", ["cause"], if_not_exists=True)
    op.create_index("ix_dead_letters_source", "dead_letters", ["source"], if_not_exists=True)
    op.create_index("ix_dead_letters_ts_ms", "dead_letters", ["ts_ms"], if_not_exists=True)
    op.create_table(
        "part_counts",
        sa.Column("equipment", sa.String(length=512), nullable=False),
        sa.Column("minute_ms", sa.BigInteger(), nullable=False),
        sa.Column("produced", sa.Integer(), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("equipment", "minute_ms"),
        if_not_exists=True,
    )
    op.create_table(
        "state_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=True),
        sa.Column("closed_on_restart", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("equipment", "start_ms", name="uq_state_intervals_equipment_start"),
        if_not_exists=True,
    )
    op.create_index("ix_state_intervals_equipment_end", "state_intervals", ["equipment", "end_ms"], if_not_exists=True)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
        if_not_exists=True,
    )
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_alarm_events_alarm_ts", "alarm_events", ["alarm_id", "ts"], if_not_exists=True)
    op.create_index("ix_alarm_events_ts", "alarm_events", ["ts"], if_not_exists=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("alarm_events")
    op.drop_table("users")
    op.drop_table("state_intervals")
    op.drop_table("part_counts")
    op.drop_table("dead_letters")
    op.drop_table("dead_letter_counts")
    op.drop_table("audit_log")
    op.drop_table("alarms")
