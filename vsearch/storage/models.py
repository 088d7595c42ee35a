"""SQLAlchemy ORM models of the catalogue at the current schema version.

These classes are private to the storage package: ``Catalog`` converts rows into frozen
records before they leave it. The schema itself is created by the ordered steps in
``migrations.py``; a test checks that these models and the migrated schema agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

VIDEO_STATUSES = ("indexed", "failed", "removed")


class Base(DeclarativeBase):
    pass


class Video(Base):
    """One video file, keyed by its absolute path; kept after failure or removal as history."""

    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint("status IN ('indexed', 'failed', 'removed')", name="ck_videos_status"),
        Index("ix_videos_status", "status"),
        Index("ix_videos_fingerprint", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    mtime_ns: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    container: Mapped[str | None] = mapped_column(String(64))
    codec: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    rotation: Mapped[int | None] = mapped_column(Integer)
    has_audio: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(128))
    clip_count: Mapped[int] = mapped_column(Integer, default=0)
    features_stored: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    indexed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    clips: Mapped[list[Clip]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )


class Clip(Base):
    """A fixed-length clip of an indexed video; ``id`` is also its FAISS vector id.

    AUTOINCREMENT guarantees ids are never reused, so a vector left behind in FAISS by a crash
    can never be mistaken for a newer clip that happens to get the same id.
    """

    __tablename__ = "clips"
    __table_args__ = (
        UniqueConstraint("video_id", "clip_idx", name="uq_clips_video_clip"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    clip_idx: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)

    video: Mapped[Video] = relationship(back_populates="clips")


class Meta(Base):
    """Library-wide settings as text: schema version, model id, clip length, ..."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Search(Base):
    """One stored search: the query, how it was grounded, its options and notes as JSON."""

    __tablename__ = "searches"
    __table_args__ = (Index("ix_searches_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    grounding: Mapped[str] = mapped_column(String(16))
    options: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    hits: Mapped[list[SearchHit]] = relationship(
        back_populates="search", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SearchHit.rank",
    )


class SearchHit(Base):
    """One ranked moment of a stored search; saliency is a JSON list, one value per clip."""

    __tablename__ = "search_hits"
    __table_args__ = (UniqueConstraint("search_id", "rank", name="uq_search_hits_rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[str] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    video_path: Mapped[str] = mapped_column(Text)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    saliency: Mapped[str] = mapped_column(Text)

    search: Mapped[Search] = relationship(back_populates="hits")
