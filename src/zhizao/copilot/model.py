"""Copilot tables: readers' clearances, the tool-call log and the incident records it indexes.

Documents themselves live in the knowledge base folder (``<data>/kb``, see ``kb.index``),
with their classification; these tables hold what belongs to the platform's database.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.store.db import Base


class Clearance(Base):
    """The highest document classification a user may read (users without a row: ``internal``;
    admins read everything)."""

    __tablename__ = "copilot_clearances"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class ToolCall(Base):
    """One call of an agent tool: who, when, which tool, with what, what came back, how long."""

    __tablename__ = "copilot_tool_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    username: Mapped[str] = mapped_column(String(64))
    conversation: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(32))
    arguments: Mapped[dict] = mapped_column(JSON)
    planner: Mapped[str] = mapped_column(String(16))  # rules | llm
    ok: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(String(1024))
    duration_ms: Mapped[float] = mapped_column(Float)


class IncidentRecord(Base):
    """A maintenance work order, an alarm or a machine failure, kept as text for the knowledge base."""

    __tablename__ = "copilot_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # workorder | alarm | failure
    ref: Mapped[str] = mapped_column(String(128))  # the record's id in its origin
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    equipment: Mapped[str] = mapped_column(String(512), default="")
    title: Mapped[str] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_copilot_records_kind_ref"),
                      Index("ix_copilot_records_kind_ts", "kind", "ts_ms"))
