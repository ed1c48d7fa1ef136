"""The Observatorio: published rounds with their precomputed public figures, and the audit
trail of publishing and withdrawing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observatory_publications",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["diagnosis_rounds.id"],
            name=op.f("fk_observatory_publications_round_id_diagnosis_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_observatory_publications_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_observatory_publications")),
    )
    op.create_table(
        "observatory_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["diagnosis_rounds.id"],
            name=op.f("fk_observatory_events_round_id_diagnosis_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_observatory_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observatory_events")),
    )
    op.create_index(op.f("ix_observatory_events_round_id"), "observatory_events", ["round_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_observatory_events_round_id"), table_name="observatory_events")
    op.drop_table("observatory_events")
    op.drop_table("observatory_publications")
