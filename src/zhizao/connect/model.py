"""Dead letters: input that could not become points, kept with its cause for people to see.

Rows are rate-limited per source and cause (a flood of garbage cannot fill the disk); the
counts in ``dead_letter_counts`` are exact."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.store.db import Base

MAX_PAYLOAD_CHARS = 2000


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(64), index=True)  # connector name, or "api"
    cause: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(512), nullable=True)
    payload: Mapped[dict | str | None] = mapped_column(JSON, nullable=True)


class DeadLetterCount(Base):
    __tablename__ = "dead_letter_counts"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cause: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int] = mapped_column(BigInteger)
