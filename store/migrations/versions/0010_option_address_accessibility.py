"""housing_options.address and accessibility_notes: what a corporation registers by hand

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("housing_options", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("accessibility_notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("housing_options", schema=None) as batch_op:
        batch_op.drop_column("accessibility_notes")
        batch_op.drop_column("address")
