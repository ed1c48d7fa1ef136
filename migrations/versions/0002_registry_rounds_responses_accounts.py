"""Cooperative registry, diagnosis rounds, responses with audit trail, accounts and roles.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cooperatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rut", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("daes_number", sa.String(length=50), nullable=True),
        sa.Column("legal_type", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("legally_current", sa.Boolean(), nullable=False),
        sa.Column("region_code", sa.Integer(), nullable=False),
        sa.Column("comuna", sa.String(length=100), nullable=True),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("members_women", sa.Integer(), nullable=True),
        sa.Column("members_men", sa.Integer(), nullable=True),
        sa.Column("members_under_35", sa.Integer(), nullable=True),
        sa.Column("founding_year", sa.Integer(), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "members_men IS NULL OR members_men >= 0", name=op.f("ck_cooperatives_members_men_positive")
        ),
        sa.CheckConstraint(
            "members_under_35 IS NULL OR members_under_35 >= 0", name=op.f("ck_cooperatives_members_under_35_positive")
        ),
        sa.CheckConstraint(
            "members_women IS NULL OR members_women >= 0", name=op.f("ck_cooperatives_members_women_positive")
        ),
        sa.CheckConstraint("region_code BETWEEN 1 AND 16", name=op.f("ck_cooperatives_region_code_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperatives")),
        sa.UniqueConstraint("rut", name=op.f("uq_cooperatives_rut")),
    )
    with op.batch_alter_table("cooperatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cooperatives_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_cooperatives_region_code"), ["region_code"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_api_tokens_user_id_name")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "diagnosis_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_diagnosis_rounds_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_rounds")),
        sa.UniqueConstraint("name", name=op.f("uq_diagnosis_rounds_name")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("cooperative_ids", sa.JSON(), nullable=False),
        sa.Column("macrozones", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_invitations_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_table(
        "user_cooperatives",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperatives.id"],
            name=op.f("fk_user_cooperatives_cooperative_id_cooperatives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_cooperatives_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "cooperative_id", name=op.f("pk_user_cooperatives")),
    )
    with op.batch_alter_table("user_cooperatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_cooperatives_cooperative_id"), ["cooperative_id"], unique=False)

    op.create_table(
        "user_macrozones",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("macrozone", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_macrozones_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "macrozone", name=op.f("pk_user_macrozones")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("previous_revision_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("interviewer_name", sa.String(length=200), nullable=True),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("interview_date", sa.Date(), nullable=True),
        sa.Column("interview_place", sa.String(length=200), nullable=True),
        sa.Column("interviewee_role", sa.String(length=200), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_by_id", sa.Integer(), nullable=True),
        sa.Column("result_snapshot", sa.JSON(), nullable=True),
        sa.Column("snapshot_questionnaire_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"], ["cooperatives.id"], name=op.f("fk_responses_cooperative_id_cooperatives")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_responses_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["previous_revision_id"], ["responses.id"], name=op.f("fk_responses_previous_revision_id_responses")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["diagnosis_rounds.id"], name=op.f("fk_responses_round_id_diagnosis_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_questionnaire_version_id"],
            ["questionnaire_versions.id"],
            name=op.f("fk_responses_snapshot_questionnaire_version_id_questionnaire_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_responses_submitted_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["validated_by_id"], ["users.id"], name=op.f("fk_responses_validated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint(
            "cooperative_id", "round_id", "revision", name=op.f("uq_responses_cooperative_id_round_id_revision")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_responses_idempotency_key")),
    )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responses_cooperative_id"), ["cooperative_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_responses_round_id"), ["round_id"], unique=False)

    op.create_table(
        "response_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("question_id", sa.String(length=100), nullable=True),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"], name=op.f("fk_response_events_response_id_responses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_response_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_events")),
    )
    with op.batch_alter_table("response_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_events_response_id"), ["response_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("response_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_events_response_id"))

    op.drop_table("response_events")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responses_round_id"))
        batch_op.drop_index(batch_op.f("ix_responses_cooperative_id"))

    op.drop_table("responses")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))

    op.drop_table("web_sessions")
    op.drop_table("user_macrozones")
    with op.batch_alter_table("user_cooperatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_cooperatives_cooperative_id"))

    op.drop_table("user_cooperatives")
    op.drop_table("invitations")
    op.drop_table("diagnosis_rounds")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("cooperatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperatives_region_code"))
        batch_op.drop_index(batch_op.f("ix_cooperatives_name"))

    op.drop_table("cooperatives")
