"""Health and summary for monitoring (no personal data)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import SessionDep
from api.services.overview import counts


class Health(BaseModel):
    status: str
    database: str
    options: int
    youths_waiting: int


router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Liveness plus a database round trip and the size of the loaded data."""
    session.execute(text("SELECT 1"))
    c = counts(session)
    dialect = session.get_bind().dialect.name
    return Health(status="ok", database=dialect, options=c.options, youths_waiting=c.youths_waiting)
