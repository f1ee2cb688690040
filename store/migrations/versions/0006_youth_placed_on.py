"""youths.placed_on: the move-in date of a placement made final by a round

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("youths", schema=None) as batch_op:
        batch_op.add_column(sa.Column("placed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("youths", schema=None) as batch_op:
        batch_op.drop_column("placed_on")
