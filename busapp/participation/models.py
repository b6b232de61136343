"""Tables of Mitreden: consultations, their questions, the answers people give and the ideas they leave.

None of them refers to a booking or an account of a resident: what someone says here cannot be joined to who they
are (see service.py).
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.extensions import db
from ..models import UTCDateTime, enum_column, utcnow


class QuestionKind(str, enum.Enum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"


class Channel(str, enum.Enum):
    PHONE = "phone"
    STATION = "station"
    PAPER = "paper"


class Moderation(str, enum.Enum):
    NEW = "new"
    PUBLISHED = "published"
    HIDDEN = "hidden"


class IdeaStatus(str, enum.Enum):
    RECEIVED = "received"
    REVIEW = "review"
    TAKEN = "taken"
    NOT_POSSIBLE = "not_possible"


class Consultation(db.Model):
    """A question the city asks for a while: German texts, others per language in `texts`, German as fallback."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    idea_question: Mapped[str] = mapped_column(sa.String(300))
    # {"en": {"title": ..., "intro": ..., "idea_question": ...}, ...}
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    district_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    stop_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    topics: Mapped[list] = mapped_column(sa.JSON, default=list)
    ask_person: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="consultation", order_by="Question.position", cascade="all, delete-orphan")
    ideas: Mapped[list[Idea]] = relationship(back_populates="consultation", order_by="Idea.id",
                                             cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="period"),)

    @property
    def last_moment(self) -> datetime:
        """The last moment it takes answers: its last day, for showing (ends_at is the next day's midnight)."""
        return self.ends_at - timedelta(seconds=1)

    def text(self, name: str, lang: str) -> str:
        """The field in `lang`, else German."""
        value = ((self.texts or {}).get(lang) or {}).get(name)
        return value or getattr(self, name)

    def text_lang(self, name: str, lang: str) -> str:
        """The language text() gives the field in: `lang` where it was written in it, else German."""
        return lang if ((self.texts or {}).get(lang) or {}).get(name) else "de"


class Question(db.Model):
    """A short choice question of a consultation (single or multiple choice, or a scale from 1 to 5)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind, "question_kind"))
    text: Mapped[str] = mapped_column(sa.String(300))
    options: Mapped[list] = mapped_column(sa.JSON, default=list)
    # {"en": {"text": ..., "options": [...]}, ...}
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    consultation: Mapped[Consultation] = relationship(back_populates="questions")

    def label(self, lang: str) -> str:
        return ((self.texts or {}).get(lang) or {}).get("text") or self.text

    def label_lang(self, lang: str) -> str:
        """The language label() gives: `lang` where the question was written in it, else German."""
        return lang if ((self.texts or {}).get(lang) or {}).get("text") else "de"

    def option_labels(self, lang: str) -> list[str]:
        if self.kind == QuestionKind.SCALE:
            return [str(n) for n in range(1, 6)]
        own = ((self.texts or {}).get(lang) or {}).get("options") or []
        return [own[i] if i < len(own) and own[i] else text for i, text in enumerate(self.options or [])]


class Contribution(db.Model):
    """One person's answers to one consultation, from one channel; anonymous."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "contribution_channel"))
    age_group: Mapped[str] = mapped_column(sa.String(20), default="")
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("district.id", ondelete="SET NULL"))
    # Where it was given: the stop of the code scanned, of the station, or written on the paper card.
    stop_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stop.id", ondelete="SET NULL"), index=True)
    internet: Mapped[str] = mapped_column(sa.String(20), default="")
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    device_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    choices: Mapped[list[Choice]] = relationship(cascade="all, delete-orphan")


class Choice(db.Model):
    """One option ticked (or scale value given) in a contribution."""

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(sa.ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column()  # option index from 0, or the scale value 1..5


class Idea(db.Model):
    """An idea left in a contribution, with its moderation and the city's public answer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    contribution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contribution.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text)
    topic: Mapped[str] = mapped_column(sa.String(80), default="")
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    moderation: Mapped[Moderation] = mapped_column(enum_column(Moderation, "idea_moderation"), default=Moderation.NEW)
    hidden_reason: Mapped[str] = mapped_column(sa.String(30), default="")
    flag: Mapped[str] = mapped_column(sa.String(30), default="")
    status: Mapped[IdeaStatus] = mapped_column(enum_column(IdeaStatus, "idea_status"), default=IdeaStatus.RECEIVED)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    # The city's answer in the idea's own language, beside the German one: {"tr": "..."}.
    answer_texts: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    supports: Mapped[int] = mapped_column(default=0)
    # A duplicate merged into another idea: hidden as said before, its supports moved to that one.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("idea.id", ondelete="SET NULL"), index=True)
    # What a coordinator corrected in the text, shown with it ("Spelling corrected").
    correction_note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The hash of the private link its author follows it by (service.follow_token); the link itself is not kept.
    follow_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="ideas")
    contribution: Mapped[Contribution | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("moderation <> 'hidden' OR hidden_reason <> ''", name="hidden_reason"),
        sa.CheckConstraint("status <> 'not_possible' OR answer <> ''", name="not_possible_answer"),
        sa.CheckConstraint("supports >= 0", name="supports"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_itself"),
    )

    def answer_in(self, lang: str) -> tuple[str, str]:
        """The city's answer in `lang` where given, else the German one: (text, language of the text)."""
        own = (self.answer_texts or {}).get(lang)
        return (own, lang) if own else (self.answer, "de")


class Support(db.Model):
    """One device's support for one idea (a keyed hash of the device's cookie, nothing else)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id", ondelete="CASCADE"))
    device_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("idea_id", "device_hash", name="uq_support_idea_device"),)


class StationPin(db.Model):
    """The staff PIN that leaves the Mitmach-Station on a tablet (one row; a hash, never the PIN)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    pin_hash: Mapped[str] = mapped_column(sa.String(255))
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
