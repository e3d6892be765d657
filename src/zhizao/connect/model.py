"""Dead letters: input that could not become points, kept with its cause for people to see."""

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
