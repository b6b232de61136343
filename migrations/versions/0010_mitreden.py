"""Mitreden: consultations, their questions, anonymous contributions with their choices, ideas and supports

Revision ID: 0010_mitreden
Revises: 0009_totp
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_mitreden"
down_revision = "0009_totp"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column("idea_question", sa.String(300), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("district_ids", sa.JSON(), nullable=False),
        sa.Column("stop_ids", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("ask_person", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_consultation_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
    )
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("question_kind", "single", "multiple", "scale"), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_question_consultation_id_consultation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    op.create_index(op.f("ix_question_consultation_id"), "question", ["consultation_id"])
    op.create_table(
        "contribution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("contribution_channel", "phone", "station", "paper"), nullable=False),
        sa.Column("age_group", sa.String(20), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("internet", sa.String(20), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_contribution_consultation_id_consultation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"],
                                name=op.f("fk_contribution_district_id_district"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_contribution_idempotency_key")),
    )
    op.create_index(op.f("ix_contribution_consultation_id"), "contribution", ["consultation_id"])
    op.create_table(
        "choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contribution_id"], ["contribution.id"],
                                name=op.f("fk_choice_contribution_id_contribution"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["question.id"],
                                name=op.f("fk_choice_question_id_question"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_choice")),
    )
    op.create_index(op.f("ix_choice_contribution_id"), "choice", ["contribution_id"])
    op.create_index(op.f("ix_choice_question_id"), "choice", ["question_id"])
    op.create_table(
        "idea",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(80), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("moderation", _enum("idea_moderation", "new", "published", "hidden"), nullable=False),
        sa.Column("hidden_reason", sa.String(30), nullable=False),
        sa.Column("flag", sa.String(30), nullable=False),
        sa.Column("status", _enum("idea_status", "received", "review", "taken", "not_possible"), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("moderation <> 'hidden' OR hidden_reason <> ''", name=op.f("ck_idea_hidden_reason")),
        sa.CheckConstraint("status <> 'not_possible' OR answer <> ''", name=op.f("ck_idea_not_possible_answer")),
        sa.CheckConstraint("supports >= 0", name=op.f("ck_idea_supports")),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_idea_consultation_id_consultation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contribution_id"], ["contribution.id"],
                                name=op.f("fk_idea_contribution_id_contribution"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea")),
    )
    op.create_index(op.f("ix_idea_consultation_id"), "idea", ["consultation_id"])
    op.create_table(
        "support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["idea.id"], name=op.f("fk_support_idea_id_idea"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support")),
        sa.UniqueConstraint("idea_id", "device_hash", name="uq_support_idea_device"),
    )


def downgrade():
    for table in ("support", "idea", "choice", "contribution", "question", "consultation"):
        op.drop_table(table)
