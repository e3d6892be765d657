"""Inspection records (one row per inspected image) and the API's result types.

A result keeps the machine's verdict (label, calibrated confidence, pass/fail/review, the model
version that gave it) and, once a person has looked at it, the reviewed label: the final label is
the reviewed one when present. The image file lives under ``<data_dir>/inspection/images``;
``image_path`` is relative to ``<data_dir>/inspection``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.store.db import Base

Verdict = Literal["pass", "fail", "review"]
# Class names that mean "no defect" (compared in lower case).
GOOD_LABELS = frozenset({"ok", "good", "pass", "normal", "none", "no_defect", "合格", "良品"})


def is_good_label(label: str | None) -> bool:
    return label is not None and label.strip().lower() in GOOD_LABELS


class InspectionResult(Base):
    __tablename__ = "inspection_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    station: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(16))  # upload | folder | camera
    image_id: Mapped[str] = mapped_column(String(64), unique=True)
    image_path: Mapped[str | None] = mapped_column(String(512), nullable=True)  # None once pruned
    heatmap_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(8))
    anomaly_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_version: Mapped[int] = mapped_column(Integer)
    part: Mapped[str | None] = mapped_column(String(128), nullable=True)
    batch: Mapped[str | None] = mapped_column(String(128), nullable=True)
    order: Mapped[str | None] = mapped_column("order_id", String(128), nullable=True)
    product: Mapped[str | None] = mapped_column(String(128), nullable=True)
    line: Mapped[str | None] = mapped_column(String(512), nullable=True)
    reviewed_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_inspection_results_ts", "ts_ms"),
        Index("ix_inspection_results_verdict", "verdict", "reviewed_ms"),
    )


class ResultOut(BaseModel):
    id: int
    ts: int = Field(description="epoch ms")
    station: str
    source: str
    image_id: str
    label: str = Field(description="the model's label")
    confidence: float = Field(description="calibrated probability of the label")
    verdict: Verdict = Field(description="the model's verdict; review: confidence below the reject threshold")
    final_label: str = Field(description="the reviewed label if a person reviewed it, else the model's")
    final_verdict: Verdict
    anomaly_score: float | None
    model_version: int
    part: str | None
    batch: str | None
    order: str | None
    product: str | None
    line: str | None
    reviewed_label: str | None
    reviewed_by: str | None
    reviewed_ms: int | None
    has_image: bool
    has_heatmap: bool


class ParetoRow(BaseModel):
    label: str
    count: int
    share: float
    cumulative: float


class InspectionStats(BaseModel):
    start: int
    end: int
    inspected: int
    passed: int = Field(description="final verdict pass (reviews included)")
    failed: int
    pending_review: int
    first_pass_yield: float | None = Field(description="parts passing their first inspection / parts inspected")
    quality: float | None = Field(description="OEE quality factor: good / decided inspected")
    pareto: list[ParetoRow]
    model_version: int | None
    model_classes: list[str]
    reject_threshold: float | None
    dropped_images: int = Field(description="camera images dropped because the station was saturated")
    rejected_files: int = Field(description="uploaded or watched files that were not readable images")
