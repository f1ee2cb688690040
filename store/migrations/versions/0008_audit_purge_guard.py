"""audit log: deleting entries past their term only through an audited purge (issue 17 item 1)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:10:00

The audit log stays append-only for users and the application (0001, 0005). Retention
(``store/retention.py``) may remove entries past their term, but only along one guarded path:
the newest entry of the log must be an ``audit.purge`` entry that names the cut-off
(``detail.before``, not later than the entry itself), and only entries older than that cut-off,
other than the purge entry, may go. So no entry can leave the log without an entry saying so,
written in the same transaction just before. UPDATE and TRUNCATE stay refused.

On PostgreSQL the privilege is the second guard: only the retention role holds DELETE on
``audit_log`` (docs/deployment.md); the application role does not.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_GUARDED = """
CREATE OR REPLACE FUNCTION stek_audit_log_append_only() RETURNS trigger AS $$
DECLARE
  marker audit_log%ROWTYPE;
  cutoff timestamptz;
BEGIN
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' THEN
    SELECT * INTO marker FROM audit_log ORDER BY id DESC LIMIT 1;
    IF marker.action = 'audit.purge' AND marker.id <> OLD.id THEN
      cutoff := (marker.detail ->> 'before')::timestamptz;
      IF cutoff <= marker.at AND OLD.at < cutoff THEN
        RETURN OLD;
      END IF;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""

PG_PLAIN = """
CREATE OR REPLACE FUNCTION stek_audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""

SQLITE_GUARDED = """
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (
  SELECT 1 FROM audit_log AS marker
  WHERE marker.id = (SELECT max(id) FROM audit_log)
    AND marker.action = 'audit.purge'
    AND marker.id <> OLD.id
    AND json_extract(marker.detail, '$.before') <= marker.at
    AND OLD.at < json_extract(marker.detail, '$.before')
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""

SQLITE_PLAIN = (
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARDED)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(SQLITE_GUARDED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_PLAIN)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(SQLITE_PLAIN)
