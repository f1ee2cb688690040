"""``stek totp``: the second factor from the command line. ``reset`` removes a user's TOTP
secret and recovery codes (phone and recovery codes both lost), so the next sign-in enrols
anew; the reset is audited (``auth.totp_reset``). An unknown e-mail address exits 2."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import func, select

from api import totp
from api.services.rounds import Actor, audit
from store import models as m
from store.db import database_url, make_engine, make_sessionmaker, unit_of_work

totp_app = typer.Typer(help="Tweestapsverificatie (TOTP) van gebruikers.")
console = Console(stderr=True)
BAD_INPUT = 2


@totp_app.callback()
def totp_group() -> None:
    """Tweestapsverificatie (TOTP) van gebruikers."""


@totp_app.command("reset")
def reset(
    email: Annotated[str, typer.Argument(help="E-mailadres van de gebruiker")],
    database_url_: Annotated[
        str | None,
        typer.Option("--database-url", help="Database-URL (standaard STEK_DATABASE_URL)"),
    ] = None,
) -> None:
    """Zet de tweestapsverificatie van een gebruiker terug: bij de volgende keer inloggen stelt
    die haar opnieuw in. Alleen na controle van de identiteit van de gebruiker."""
    engine = make_engine(database_url(database_url_))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            user = session.scalars(
                select(m.User).where(func.lower(m.User.email) == email.strip().lower())
            ).first()
            if user is None:
                console.print(f"[bold red]Fout:[/] e-mailadres: onbekend ({escape(email)})")
                raise typer.Exit(BAD_INPUT)
            had = user.totp_secret is not None
            totp.disable(session, user)
            audit(session, Actor.system(), "auth.totp_reset", "user", user.id, {"had": had})
            made = user.email
    finally:
        engine.dispose()
    console.print(f"Tweestapsverificatie van {escape(made)} teruggezet.")
