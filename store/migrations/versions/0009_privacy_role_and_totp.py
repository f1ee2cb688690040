"""privacy-officer role; TOTP second factor (secret, last step used, recovery codes, sign-in
challenges)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 13:15:00

``users.role`` gains ``privacy`` (functionaris gegevensbescherming). Widening the CHECK means
recreating ``users`` on SQLite, which other tables reference: the table is rebuilt with foreign
keys switched off (SQLite's documented twelve-step table change), and the references are checked
(``PRAGMA foreign_key_check``) before foreign keys go back on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("admin", "gemeente", "corporatie", "regisseur", "planner")
NEW_ROLES = (*OLD_ROLES, "privacy")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_role_check(roles: tuple[str, ...], drop_totp_columns: bool = False) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        # SQLite's twelve-step table change: foreign keys off while ``users`` is rebuilt (its
        # DROP would otherwise delete-check every row that refers to a user). The PRAGMA is a
        # no-op inside a transaction, so the open one (earlier steps' DML; SQLite DDL is not
        # transactional under the driver anyway) is committed first.
        raw = bind.connection.dbapi_connection
        if raw is not None and getattr(raw, "in_transaction", False):
            raw.commit()
        bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    with op.batch_alter_table("users", schema=None, recreate="always" if sqlite else "auto") as b:
        b.drop_constraint(op.f("ck_users_role"), type_="check")
        b.create_check_constraint("role", _in("role", roles))
        if drop_totp_columns:
            for column in ("totp_enrolled_at", "totp_last_step", "totp_secret"):
                b.drop_column(column)
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        bind.exec_driver_sql("PRAGMA foreign_keys = ON")
        if broken:
            raise RuntimeError(f"foreign keys broken after rebuilding users: {broken[:5]}")


def upgrade() -> None:
    _set_role_check(NEW_ROLES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "totp_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_totp_recovery_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_totp_recovery_codes_code_hash")),
    )
    with op.batch_alter_table("totp_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_totp_recovery_codes_user_id"), ["user_id"], unique=False
        )
    op.create_table(
        "sign_in_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pending_secret", sa.String(length=64), nullable=True),
        sa.Column("next_path", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_challenges_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_challenges")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_challenges_token_hash")),
    )
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_challenges_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    officers = op.get_bind().exec_driver_sql("SELECT count(*) FROM users WHERE role = 'privacy'")
    if officers.scalar():
        raise RuntimeError("users with role 'privacy' exist: change their role before downgrading")
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_challenges_user_id"))
    op.drop_table("sign_in_challenges")
    with op.batch_alter_table("totp_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_totp_recovery_codes_user_id"))
    op.drop_table("totp_recovery_codes")
    _set_role_check(OLD_ROLES, drop_totp_columns=True)
