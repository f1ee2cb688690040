"""Users and tokens for the operations tests (metrics, request ids)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.auth import issue_token
from store.models import Organisation, User


def tokens(factory: sessionmaker[Session]) -> dict[str, str]:
    """An API token per role (admin, planner) and an admin browser session token."""
    with factory.begin() as s:
        org = Organisation(code="REG-1", name="Regio", kind="regio")
        s.add(org)
        s.flush()
        out: dict[str, str] = {}
        for role in ("admin", "planner"):
            user = User(email=f"{role}@ops.invalid", name=role, role=role, organisation_id=org.id)
            s.add(user)
            s.flush()
            out[role] = issue_token(s, user, "api")
            if role == "admin":
                out["admin-session"] = issue_token(s, user, "session")
    return out
