"""notifications.kind: contingent proposals and their decisions (issue 15 item 3)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "kind IN ('round_published', 'round_final')"
NEW = "kind IN ('round_published', 'round_final', 'contingent_proposed', 'contingent_decided')"


def _kinds(condition: str) -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_kind"), type_="check")
        batch_op.create_check_constraint("kind", condition)


def upgrade() -> None:
    _kinds(NEW)


def downgrade() -> None:
    op.execute(
        "DELETE FROM notifications WHERE kind IN ('contingent_proposed', 'contingent_decided')"
    )
    _kinds(OLD)
