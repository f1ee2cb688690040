"""contingent_changes (two-sided contingent agreements), password_resets (one-time links),
organisations.active (deactivating an organisation)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "contingent_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contingent_id", sa.Integer(), nullable=True),
        sa.Column("corporation_id", sa.Integer(), nullable=False),
        sa.Column("gemeente_code", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=True),
        sa.Column("old_amount", sa.Integer(), nullable=True),
        sa.Column("new_amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by_org_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("new_amount >= 0", name=op.f("ck_contingent_changes_new_amount")),
        sa.CheckConstraint(
            "year >= 2000 AND year <= 2100", name=op.f("ck_contingent_changes_year")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'rejected', 'withdrawn')",
            name=op.f("ck_contingent_changes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["contingent_id"],
            ["contingents.id"],
            name=op.f("fk_contingent_changes_contingent_id_contingents"),
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["organisations.id"],
            name=op.f("fk_contingent_changes_corporation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["gemeente_code"],
            ["areas.code"],
            name=op.f("fk_contingent_changes_gemeente_code_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["housing_types.id"],
            name=op.f("fk_contingent_changes_type_id_housing_types"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_contingent_changes_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_org_id"],
            ["organisations.id"],
            name=op.f("fk_contingent_changes_proposed_by_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_contingent_changes_decided_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contingent_changes")),
    )
    with op.batch_alter_table("contingent_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contingent_changes_key",
            ["corporation_id", "gemeente_code", "year", "status"],
            unique=False,
        )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_password_resets_created_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index("ix_password_resets_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index("ix_password_resets_user_id")
    op.drop_table("password_resets")
    with op.batch_alter_table("contingent_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_contingent_changes_key")
    op.drop_table("contingent_changes")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("active")
