"""sso_logins: OpenID Connect sign-ins under way; users.sso_issuer/sso_subject: the provider's
account a stek account is linked to (issue 17 item 4)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_path", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_logins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_logins_state_hash")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_issuer", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("sso_subject", sa.String(255), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_users_sso_issuer"), ["sso_issuer", "sso_subject"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_users_sso_issuer"), type_="unique")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("sso_issuer")
    op.drop_table("sso_logins")
