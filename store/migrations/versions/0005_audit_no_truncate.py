"""audit log refuses TRUNCATE; sign-in attempts indexed per client

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:40:00

The row triggers of 0001 stop UPDATE and DELETE on ``audit_log``, but ``TRUNCATE`` fires no row
trigger, so on PostgreSQL the log could still be emptied in one statement (issue 13 item 11).
A statement-level ``BEFORE TRUNCATE`` trigger refuses it, also when the truncate cascades from
another table. SQLite has no TRUNCATE. The application's database role should not hold the
TRUNCATE privilege either (README, PostgreSQL).

The sign-in back-off counts failures per client (api/auth.py), hence the index on
``login_attempts (client, at)`` beside the existing ``(email, at)``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # stek_audit_log_append_only() (0001) raises 'audit_log is append-only'.
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION stek_audit_log_append_only()"
        )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_client_at", ["client", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_client_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
